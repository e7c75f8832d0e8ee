"""The plot library for the benchmarks' figures (matplotlib from requirements-bench.txt, file backend)."""


def pyplot(log):
    """matplotlib.pyplot drawing to files, or None (and a warning through log) when it is not installed:
    the numbers still go to the JSON and Markdown results."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed (pip install -r requirements-bench.txt): no plot")
        return None
    return plt
