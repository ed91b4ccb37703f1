"""Spark as the scale-out engine for full linkage runs (CONTACTPOINT_LINKAGE_ENGINE=spark).

The model, the blocking rules and the thresholds are the same as on DuckDB; only where the pairs
are scored changes. Locally (tests, a single large machine) Spark runs in-process; on a cluster,
set SPARK_MASTER_URL (e.g. spark://host:7077 or yarn) and the executors' resources with the usual
SPARK_* settings. See docs/linkage.md.
"""

import atexit
import os
import tempfile
from functools import lru_cache


@lru_cache(maxsize=1)
def spark_session():
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    master = os.environ.get("SPARK_MASTER_URL", "local[2]")
    session = (
        SparkSession.builder.appName("contactpoint-linkage")
        .master(master)
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", os.environ.get("SPARK_SHUFFLE_PARTITIONS", "8"))
        .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    atexit.register(session.stop)  # before the interpreter tears down py4j's logging
    return session


def spark_api():
    from splink import SparkAPI

    session = spark_session()
    session.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="contactpoint-spark-"))
    return SparkAPI(
        spark_session=session, break_lineage_method=os.environ.get("SPARK_BREAK_LINEAGE", "parquet")
    )
