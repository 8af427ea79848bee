"""双随机、一公开: class → inclusion probability → seeded, reproducible, verifiable draws.

``policy`` (class terms under a policy), ``plan`` (what a plan says), ``weights`` (π and why),
``draw`` (exact systematic PPS, frame hash, commitment, verify), ``blinding`` (a public frame
that does not publish classes), ``inspectors`` (random inspectors with recusal), ``ledger``
(plans and draws in the store), ``results`` (inspection results back as facts).
"""
