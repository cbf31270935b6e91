"""The metrics grader combines. Each is a module with a small scoring object; heavy ones load lazily.

Names used on the command line (``--metrics``): keywords, rouge, bertscore.
"""
METRIC_NAMES = ("keywords", "rouge", "bertscore")
