#!/usr/bin/env bash
# The project's test command (README.md). Builds everything in Release and runs the xunit suite on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build LongContext.slnx -c Release
dotnet test tests/LongContext.Tests/LongContext.Tests.csproj -c Release --no-build --logger "console;verbosity=normal" "$@"
