"""Tracking across survey waves: reading several waves, comparing questionnaire versions,
weighting each wave to its own targets and trend tables with tests of change.

>>> from surveykit.waves import read_waves, compare_versions, weight_waves, trend
"""

from .reading import DEFAULT_WAVE_COLUMN, read_waves, read_waves_file, wave_label, wave_order
from .survey import survey_from_waves
from .trend import TrendNote, TrendResult, trend
from .versions import CHANGE_KINDS, VersionChange, VersionChanges, compare_versions
from .weighting import WaveWeighting, weight_waves

__all__ = ["read_waves", "read_waves_file", "wave_label", "wave_order", "DEFAULT_WAVE_COLUMN",
           "compare_versions", "VersionChange", "VersionChanges", "CHANGE_KINDS",
           "weight_waves", "WaveWeighting", "trend", "TrendResult", "TrendNote",
           "survey_from_waves"]
