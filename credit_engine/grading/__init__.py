"""Grading: a model score becomes a class A–D with its reasons (RULES.md §1).

``classes`` holds the cut-offs, the direct judgements and the reason codes; ``batch`` grades a
whole province with the champion, re-grades one entity at once and explains a stored grade;
``spark`` runs the batch's per-partition function on a cluster.
"""
