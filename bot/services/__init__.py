"""The use cases: what surveybot does, whichever channel or command asks. Imports neither channels nor the CLI."""
