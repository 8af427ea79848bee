"""Credit-based tiered supervision scoring (信用分级分类监管)."""

import warnings

# pandera imports ``pyspark.pandas`` whenever PySpark is installed (the `spark` extra), which warns
# about pandas 3 on every command; nothing here uses ``pyspark.pandas``, only Arrow-based
# ``applyInPandas`` (``grading.spark``), whose output the engine tests compare with pandas.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
