return await LongContext.Cli.LongCtxApp.RunAsync(args);
