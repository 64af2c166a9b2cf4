"""Builds the FunctionApp and registers the blueprints of ``functions/``; nothing else."""

import azure.functions as func

from functions import blueprints

app = func.FunctionApp()
for blueprint in blueprints:
    app.register_functions(blueprint)
