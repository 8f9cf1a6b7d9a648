// The entry point; LongCtxApp wires evaluation to the in-process engine (tests build the app with their own backends).
return await LongContext.Cli.LongCtxApp.RunWithTerminationSignalsAsync(args);
