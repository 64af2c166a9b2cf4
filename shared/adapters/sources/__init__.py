"""Where documents come from: a folder of exported JSON, or live ARM and Resource Graph.

Every source answers the same two questions for the pipeline: what is the current
state of this target and everything its controls need (``read``), and which
targets exist (``list_targets``).
"""
