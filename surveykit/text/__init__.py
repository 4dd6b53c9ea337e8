"""Open-ended feedback: codeframes, theme coding, discovery, coder agreement, masking.

>>> from surveykit.text import load_codeframe, code_text
>>> cf = load_codeframe("questionnaires/pc_customers.codeframe.yaml")
>>> import pandas as pd
>>> coded = code_text(pd.DataFrame({"pain_text": ["风扇噪音很大", "Too expensive!"]}),
...                   "pain_text", cf)
>>> coded.data[["pain_text_heat", "pain_text_price"]].to_numpy().tolist()
[[1.0, 0.0], [0.0, 1.0]]

- :func:`load_codeframe` reads a codeframe YAML (themes, nets, rules per language), with
  located errors; :func:`codeframe_schema` is its JSON Schema.
- :func:`code_text` codes an open question: one 0/1 column per theme and net (a
  multi-response question for ``estimate`` and ``banner``), plus an audit table.
- :func:`suggest_themes` proposes themes from the answers no theme codes;
  :func:`write_codeframe_draft` writes them as a codeframe draft.
- :func:`export_coding_sheet` / :func:`read_coding_sheet` / :func:`agreement`: the human
  coding round trip (Cohen's kappa, Krippendorff's alpha).
- :func:`theme_shares`, :func:`theme_impact`, :func:`nps_groups`: analysis.
- :func:`mask_personal_data`, :func:`typical_quotes`: quotes safe to show.
"""

from ..errors import CodeframeError, TextError
from .agreement import Agreement, agreement, cohen_kappa, krippendorff_alpha, sheet_agreement
from .analysis import NPS_GROUPS, ThemeImpact, ThemeShares, nps_groups, theme_impact, theme_shares
from .codeframe import (
    Codeframe,
    codeframe_from_dict,
    codeframe_from_text,
    codeframe_path,
    codeframe_schema,
    load_codeframe,
)
from .coding import CodedText, code_text
from .discovery import (
    ThemeSuggestion,
    ThemeSuggestions,
    suggest_themes,
    typical_quotes,
    write_codeframe_draft,
)
from .masking import mask_personal_data
from .sheets import export_coding_sheet, read_coding_sheet

__all__ = [
    "Agreement", "Codeframe", "CodeframeError", "CodedText", "NPS_GROUPS", "TextError",
    "ThemeImpact", "ThemeShares", "ThemeSuggestion", "ThemeSuggestions", "agreement",
    "code_text", "codeframe_from_dict", "codeframe_from_text", "codeframe_path",
    "codeframe_schema", "cohen_kappa", "export_coding_sheet", "krippendorff_alpha",
    "load_codeframe", "mask_personal_data", "nps_groups", "read_coding_sheet", "sheet_agreement",
    "suggest_themes", "theme_impact", "theme_shares", "typical_quotes",
    "write_codeframe_draft",
]
