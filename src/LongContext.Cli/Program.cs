// The real entry point wires evaluation to the in-process engine; tests set their own factories.
LongContext.Eval.Engine.EngineLocalGenerator.Register();
return await LongContext.Cli.LongCtxApp.RunWithTerminationSignalsAsync(args);
