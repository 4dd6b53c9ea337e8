"""surveykit: survey and customer-feedback research in Jupyter."""

__version__ = "0.1.0"
