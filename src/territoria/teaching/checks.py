"""Self-checks for the exercises: ``check("01.coverage", answer)`` says correct or not, with a
hint.

The right answer is never written anywhere a learner reads: it is computed when the check
runs, from the kit's own stored results (the ``indicators`` table that ``territoria run``
fills), from the step functions the notebooks use, or from the sample city's known truth
(``truth/params.json``, written by ``territoria demo``). A wrong answer gets a hint that says
where to look and, for numbers, whether the answer is too high or too low.

Answers are forgiving about form: a share may be given as ``0.42`` or ``42`` (percent); a
yes/no as ``True``, ``"sí"`` or ``"no"``; a group or an axis by its id or its label.

Examples
--------
>>> same_text("  Security ", "security")
True
>>> as_share(42, expected=0.43)
0.42
>>> as_bool("Sí"), as_bool("no"), as_bool(3)
(True, False, None)
>>> sorted(CHECKS)[:3]
['00.crime_only', '00.n_selected', '00.rank1']
"""

from __future__ import annotations

import dataclasses
import json
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from territoria.exceptions import ConfigError, TerritoriaError
from territoria.i18n import catalogue, tr

MESSAGES = catalogue(__name__)

FORMS = catalogue(__name__, "FORMS")


# ---------------------------------------------------------------------------------------------
# answers in any reasonable form
# ---------------------------------------------------------------------------------------------
def _fold(s) -> str:
    s = unicodedata.normalize("NFKD", str(s)).encode("ascii", "ignore").decode()
    return " ".join(s.replace("|", " ").replace("_", " ").replace("-", " ").lower().split())


def same_text(answer, expected) -> bool:
    """Equal ignoring case, accents, spaces, ``_``/``-``/``|``."""
    return _fold(answer) == _fold(expected)


def as_number(answer) -> float | None:
    if isinstance(answer, bool) or answer is None:
        return None
    try:
        x = float(answer)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def as_share(answer, expected: float) -> float | None:
    """A share given as a proportion or a percentage, as a proportion."""
    x = as_number(answer)
    if x is None:
        return None
    if abs(x) > 1.0 and abs(expected) <= 1.0:
        x = x / 100.0
    return round(x, 10)


def as_bool(answer) -> bool | None:
    if isinstance(answer, bool):
        return answer
    if isinstance(answer, str):
        f = _fold(answer)
        if f in ("si", "yes", "true", "verdadero", "cierto", "s", "y"):
            return True
        if f in ("no", "false", "falso", "n"):
            return False
    return None


#: Answers meaning "none of them" for a list (an empty list works too).
NONE_WORDS = ("ninguna", "ninguno", "none", "nada", "nothing")


def _is_empty(answer) -> bool:
    return answer is None or answer is ... or (isinstance(answer, str) and not answer.strip())


# ---------------------------------------------------------------------------------------------
# the registry
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One exercise's check.

    Attributes
    ----------
    key : str
        ``NN.name``: the step number and a short name.
    form : str
        ``share``, ``number``, ``integer``, ``text``, ``bool``, ``set`` (the answer must name
        one of the expected items), ``plan`` (a valid evaluation plan file).
    expected : callable
        ``expected(checker)`` -> the right answer (a set of accepted texts for ``text``).
    hint : dict
        ``{"es": ..., "en": ...}``: where to look, never the answer.
    tolerance : float
        For numbers: the absolute difference accepted.
    territory : bool
        Whether the check needs the learner's territory.
    """

    key: str
    form: str
    expected: Callable[[Checker], Any]
    hint: dict
    tolerance: float = 0.0
    territory: bool = True


CHECKS: dict[str, Check] = {}


def register(check: Check) -> Check:
    """Add a check to :data:`CHECKS` (a new exercise, or a city's own)."""
    if check.form not in FORMS:
        raise ConfigError(f"check {check.key}: unknown form '{check.form}' "
                          f"(allowed: {', '.join(FORMS)})")
    CHECKS[check.key] = check
    return check


@dataclass
class CheckResult:
    """What a check says: ``correct`` and a message in the learner's language."""

    key: str
    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __repr__(self) -> str:
        return self.message

    def _repr_markdown_(self) -> str:
        return self.message


class Checker:
    """The ``check`` of an exercises notebook, bound to a workspace and a territory.

    Parameters
    ----------
    workspace : path-like
        The classroom workspace.
    territory : str, optional
        The learner's territory (the checks of steps 01-05 need it).
    language : {"es", "en"}

    Examples
    --------
    In an exercises notebook::

        check = Checker(workspace, territory, language)
        answer = 0.42
        check("01.coverage", answer)
    """

    def __init__(self, workspace, territory: str | None = None, language: str = "es"):
        from territoria.steps.common import open_context

        self.ctx = open_context(workspace)
        #: the city's configuration as the workspace has it (exercises may change
        #: ``ctx.config`` in the notebook; the checks never see that)
        self.config = self.ctx.config.model_copy(deep=True)
        self.territory = territory
        self.language = language if language in ("es", "en") else "es"
        self._cache: dict = {}
        if territory is not None:
            self.ctx.require_territory(territory)

    # -- sources ---------------------------------------------------------------------------
    def truth_params(self) -> dict:
        """The true parameters of the sample city (``truth/params.json: params``)."""
        return self.truth("truth")["params"]

    def truth(self, key: str) -> dict:
        """The sample city's ``truth/params.json``: ``{"params": ..., "facts": ...}``."""
        path = self.ctx.ws.root / "truth" / "params.json"
        if not path.is_file():
            raise _Unavailable(tr(MESSAGES, "no_truth", self.language, ex=key))
        return json.loads(path.read_text(encoding="utf-8"))

    def indicators(self, name: str, *, city: bool = False):
        """Rows of the ``indicators`` table for the learner's territory (or the city)."""
        where = "territory_id IS NULL" if city else "territory_id = ?"
        params = [name] if city else [name, self._territory(name)]
        if not self.ctx.store.has_table("indicators"):
            return None
        df = self.ctx.store.query(
            f"SELECT * FROM indicators WHERE name = ? AND {where} ORDER BY computed_at", params)
        return None if df.empty else df.drop_duplicates(["grp"], keep="last")

    def required_indicators(self, key: str, name: str, *, city: bool = False):
        """:meth:`indicators`, or the learner is told that exercise ``key`` needs the result
        ``name``, not computed yet."""
        df = self.indicators(name, city=city)
        if df is None:
            raise _Unavailable(tr(MESSAGES, "no_result", self.language, ex=key, name=name))
        return df

    def indicator(self, key: str, name: str, *, city: bool = False, field: str = "value"):
        return self.required_indicators(key, name, city=city).iloc[-1][field]

    def memo(self, name: str | tuple, fn: Callable[[], Any]):
        if name not in self._cache:
            self._cache[name] = fn()
        return self._cache[name]

    def _territory(self, what: str) -> str:
        if self.territory is None:
            raise ConfigError(f"{what}: this exercise is about one territory: give it to "
                              "Checker(workspace, territory=...) / indique la colonia")
        return self.territory

    # -- checking --------------------------------------------------------------------------
    def expected(self, key: str):
        """The right answer of ``key`` (for trainers and tests; learners call the checker)."""
        c = self._check(key)
        if c.territory:
            self._territory(key)
        return self.memo(("expected", key), lambda: c.expected(self))

    def answer_key(self):
        """Every check's right answer for this territory (a trainer's sheet), as a DataFrame
        with ``key, form, expected`` (``expected`` empty when unavailable)."""
        import pandas as pd

        rows = []
        for key in sorted(CHECKS):
            try:
                value = self.expected(key)
            except _Unavailable:
                value = None
            rows.append({"key": key, "form": CHECKS[key].form, "expected": value})
        return pd.DataFrame(rows)

    def _check(self, key: str) -> Check:
        if key not in CHECKS:
            raise ConfigError(f"unknown exercise '{key}' (known: {', '.join(sorted(CHECKS))})")
        return CHECKS[key]

    def __call__(self, key: str, answer) -> CheckResult:
        c = self._check(key)
        lang = self.language
        if _is_empty(answer):
            return CheckResult(key, False, tr(MESSAGES, "empty", lang, ex=key))
        if c.form == "plan":
            return self._check_plan(c, answer)
        try:
            exp = self.expected(key)
        except _Unavailable as e:
            return CheckResult(key, False, str(e))
        ok, extra = _compare(c, answer, exp)
        if ok is None:
            return CheckResult(key, False, tr(MESSAGES, "form", lang, ex=key,
                                                form=FORMS[c.form][lang]))
        if ok:
            return CheckResult(key, True, tr(MESSAGES, "correct", lang, ex=key))
        hint = c.hint.get(lang) or c.hint["es"]
        return CheckResult(key, False, tr(MESSAGES, "wrong", lang, ex=key, hint=hint)
                           + (tr(MESSAGES, extra, lang) if extra else ""))

    def _check_plan(self, c: Check, answer) -> CheckResult:
        import warnings

        from territoria.evaluation.plan import check_plan, load_plan

        lang = self.language
        path = Path(str(answer))
        if not path.is_absolute() and not path.exists():
            path = self.ctx.ws.root / path
        try:
            plan = load_plan(path, lang=lang)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                check_plan(plan, self.ctx.store, self.ctx.config, lang=lang)
        except TerritoriaError as e:
            hint = (c.hint.get(lang) or c.hint["es"]) + f" ({e})"
            return CheckResult(c.key, False, tr(MESSAGES, "wrong", lang, ex=c.key, hint=hint))
        return CheckResult(c.key, True, tr(MESSAGES, "correct", lang, ex=c.key))


def write_answer_key(classroom, path) -> Path:
    """Write the trainer's answer key of a classroom: one row per learner and exercise
    (``learner, territory_id, key, form, expected``); sets are written ``a | b``."""
    import pandas as pd

    frames = []
    for learner in classroom.learners:
        ch = Checker(classroom.workspace.root, learner.territory_id, "es")
        try:
            key = ch.answer_key()
        finally:
            ch.ctx.close()
        key["expected"] = [" | ".join(sorted(map(str, v))) if isinstance(v, (set, frozenset))
                           else v for v in key["expected"]]
        key.insert(0, "territory_id", learner.territory_id)
        key.insert(0, "learner", learner.number)
        frames.append(key)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path


class _Unavailable(TerritoriaError):
    """The source a check needs (truth, stored results) is not in this workspace."""


def _compare(c: Check, answer, exp) -> tuple[bool | None, str | None]:
    """(correct or None when the answer has the wrong form, 'high'/'low' or None)."""
    if c.form in ("share", "number", "integer"):
        if c.form == "share":
            x = as_share(answer, float(exp))
        else:
            x = as_number(answer)
            if x is not None and c.form == "number" and abs(x) < 1 <= abs(float(exp)):
                x = x * 100.0  # a percentage given as a proportion
        if x is None:
            return None, None
        if abs(x - float(exp)) <= c.tolerance + 1e-9:
            return True, None
        return False, "high" if x > float(exp) else "low"
    if c.form == "bool":
        b = as_bool(answer)
        return (None, None) if b is None else (b == bool(exp), None)
    if c.form == "text":
        accepted = exp if isinstance(exp, (set, frozenset, list, tuple)) else {exp}
        if isinstance(answer, (list, tuple)):
            answer = " ".join(map(str, answer))
        return any(same_text(answer, a) for a in accepted), None
    if c.form == "set":
        if isinstance(answer, str) and _fold(answer) in NONE_WORDS:
            answer = []
        items = [answer] if isinstance(answer, str) else answer
        try:
            given = {_fold(a) for a in items}
        except TypeError:
            return None, None
        return given == {_fold(e) for e in exp}, None
    return None, None


# ---------------------------------------------------------------------------------------------
# the exercises of each step
# ---------------------------------------------------------------------------------------------
def _ranking(ch: Checker, **weights):
    from territoria.steps import s00_selection as s00

    cfg = ch.config.model_copy(deep=True)
    for k, v in weights.items():
        setattr(cfg.selection, k, v)
    ctx = dataclasses.replace(ch.ctx, config=cfg)
    inputs = ch.memo("00.inputs", lambda: s00.load_inputs(dataclasses.replace(
        ch.ctx, config=ch.config)))
    return s00.ranking(ctx, inputs)


def _group_names(ch: Checker, grp: str) -> set:
    from territoria.steps.s01_network import group_label

    sex, age = grp.split("_", 1)
    return {grp, f"{sex}|{age}", group_label(sex, age, "es"), group_label(sex, age, "en")}


def _lowest_group(ch: Checker) -> set:
    df = ch.required_indicators("01.underrepresented", "representation_ratio")
    df = df[~df["suppressed"].astype(bool) & df["value"].notna()]
    return _group_names(ch, str(df.sort_values("value").iloc[0]["grp"]))


def _covers(ch: Checker, key: str, name: str, truth_value: float, city: bool = True) -> bool:
    lo = ch.indicator(key, name, city=city, field="ci_low")
    hi = ch.indicator(key, name, city=city, field="ci_high")
    return bool(lo <= truth_value <= hi)


def _top_axis(ch: Checker) -> set:
    df = ch.required_indicators("02.top_problem", "top_problem_share")
    axis = str(df.iloc[-1]["grp"])
    return {axis, ch.ctx.config.axis_label(axis, "es"), ch.ctx.config.axis_label(axis, "en")}


def _agenda(ch: Checker):
    from territoria.steps import s03_agenda as s03

    tid = ch._territory("03")
    return ch.memo("03.agenda", lambda: s03.agenda_table(s03.analyse(ch.ctx, tid)))


def _stage_means(ch: Checker) -> dict:
    out = {}
    for stage in ("design", "delib", "impact"):
        df = ch.indicators(f"{stage}_mean")
        if df is not None and df.iloc[-1]["value"] == df.iloc[-1]["value"]:
            out[stage] = float(df.iloc[-1]["value"])
    if not out:
        raise _Unavailable(tr(MESSAGES, "no_result", ch.language, ex="05", name="design_mean"))
    return out


_STAGE_LABELS = {"design": ("diseño", "diseño del proceso", "design", "process design"),
                 "delib": ("experiencia deliberativa", "deliberación", "deliberative experience",
                           "deliberation"),
                 "impact": ("camino al impacto", "impacto", "pathways to impact", "impact")}


def _weakest_stage(ch: Checker) -> set:
    means = _stage_means(ch)
    stage = min(means, key=lambda k: means[k])
    return {stage, *_STAGE_LABELS[stage]}


def _reliable_stages(ch: Checker) -> set:
    out = set()
    for stage in ("design", "delib", "impact"):
        df = ch.indicators(f"{stage}_alpha")
        if df is not None and df.iloc[-1]["value"] >= 0.7:
            out.add(stage)
    return out


def _divisive(ch: Checker) -> set:
    a = _agenda(ch)
    return set(a.loc[a["divisive"].astype(bool), "proposal"].astype(str))


def _hint(es: str, en: str) -> dict:
    return {"es": es, "en": en}


for _c in (
    # 00 · selection (city)
    Check("00.rank1", "text", lambda ch: _ranking(ch).iloc[0]["territory_id"],
          _hint("ordene la lista de `step.ranking(ctx, inputs)` por la columna `rank` y dé la "
                "clave (`territory_id`) del lugar 1.",
                "sort `step.ranking(ctx, inputs)` by `rank` and give the `territory_id` of "
                "rank 1."), territory=False),
    Check("00.n_selected", "integer", lambda ch: int(_ranking(ch)["selected"].sum()),
          _hint("cuente las filas con `selected` verdadero (o lea `ranked.attrs['top']`).",
                "count the rows where `selected` is true (or read `ranked.attrs['top']`)."),
          territory=False),
    Check("00.crime_only", "text",
          lambda ch: _ranking(ch, social_index=0.0, crime_rate=1.0,
                              population=0.0).iloc[0]["territory_id"],
          _hint("ponga los pesos en `ctx.config.selection` (social_index=0, crime_rate=1, "
                "population=0), recalcule `step.ranking` y vea quién queda en el lugar 1.",
                "set the weights in `ctx.config.selection` (social_index=0, crime_rate=1, "
                "population=0), recompute `step.ranking` and see who is rank 1."),
          territory=False),
    # 01 · network
    Check("01.coverage", "share", lambda ch: float(ch.indicator("01.coverage", "block_coverage")),
          _hint("divida las manzanas con al menos una asamblea de manzana (`kind == "
                "'block_assembly'`, `block` distinto) entre el total de manzanas de la colonia "
                "(`blocks_total` en el catálogo).",
                "divide the blocks with at least one block assembly (`kind == "
                "'block_assembly'`, distinct `block`) by the territory's total blocks "
                "(`blocks_total` in the catalogue)."), tolerance=0.01),
    Check("01.underrepresented", "text", _lowest_group,
          _hint("en la tabla de `step.representation`, busque la razón (`ratio`) más baja; "
                "responda con `sex` y `age_group` unidos por '_' o con el nombre del grupo.",
                "in the `step.representation` table, find the lowest `ratio`; answer with `sex` and `age_group` "
                "joined by '_' or with the group's label.")),
    Check("01.truth_in_ci", "bool",
          lambda ch: _covers(ch, "01.truth_in_ci", "block_coverage_city",
                             float(ch.truth("01.truth_in_ci")["params"]["block_coverage"]),
                             city=False),
          _hint("compare el intervalo de la fila 'Todas las colonias del programa' de la "
                "cobertura con `block_coverage` en truth/params.json.",
                "compare the coverage interval of the 'All programme neighbourhoods' row with "
                "`block_coverage` in truth/params.json.")),
    # 02 · diagnostic
    Check("02.respondents", "integer",
          lambda ch: int(ch.indicator("02.respondents", "diagnostic_respondents")),
          _hint("cuente las respuestas de la encuesta de diagnóstico de la colonia (filas de "
                "`ctx.table('diagnostic', territory)`).",
                "count the territory's diagnostic survey answers (rows of "
                "`ctx.table('diagnostic', territory)`).")),
    Check("02.top_problem", "text", _top_axis,
          _hint("en la tabla de problemas, el eje con `rank` 1 (el mayor porcentaje ponderado).",
                "in the problems table, the axis with `rank` 1 (highest weighted share).")),
    Check("02.unsafe", "share",
          lambda ch: float(ch.indicator("02.unsafe", "pct_unsafe_colonia")),
          _hint("porcentaje ponderado de quienes se sienten inseguros en su colonia: la fila de "
                "esta colonia en la tabla de seguridad.",
                "weighted share feeling unsafe in their neighbourhood: this territory's row in "
                "the safety table."), tolerance=0.01),
    # 03 · agenda
    Check("03.top_proposal", "text", lambda ch: str(_agenda(ch).iloc[0]["proposal"]),
          _hint("la clave de propuesta (como P-07-000-00) con `rank` 1 en la agenda.",
                "the proposal code (like P-07-000-00) with `rank` 1 on the agenda.")),
    Check("03.divisive", "set", _divisive,
          _hint("liste las claves de las propuestas marcadas como divisivas (`divisive`) en la "
                "agenda: un grupo de opinión la apoya y otro la rechaza.",
                "list the codes of the proposals flagged `divisive` on the agenda: one opinion "
                "group supports it and another rejects it.")),
    Check("03.groups", "integer", lambda ch: int(ch.indicator("03.groups",
                                                              "agenda_opinion_groups")),
          _hint("cuántos grupos de opinión distintos encontró el análisis de los votos (tabla de "
                "grupos de opinión).",
                "how many distinct opinion groups the vote analysis found (opinion groups "
                "table).")),
    # 04 · follow-up
    Check("04.committed", "integer",
          lambda ch: int(ch.indicator("04.committed", "followup_committed")),
          _hint("acuerdos acordados, en proceso o cumplidos (los cancelados y rechazados no "
                "cuentan).",
                "agreements agreed, in progress or done (cancelled and rejected ones do not "
                "count).")),
    Check("04.fulfilment", "share",
          lambda ch: float(ch.indicator("04.fulfilment", "followup_fulfilment_rate")),
          _hint("cumplidos entre comprometidos, a la fecha de corte.",
                "done among committed, on the cut-off date."), tolerance=0.01),
    Check("04.overdue", "integer", lambda ch: int(ch.indicator("04.overdue", "followup_overdue")),
          _hint("comprometidos, no cumplidos y con fecha comprometida ya vencida (tabla de "
                "vencidos).",
                "committed, not done and past their due date (overdue table).")),
    # 05 · process
    Check("05.weakest_stage", "text", _weakest_stage,
          _hint("la parte del proceso (design, delib o impact) con el puntaje promedio más bajo.",
                "the stage (design, delib or impact) with the lowest mean score.")),
    Check("05.impact_agree", "share",
          lambda ch: float(ch.indicator("05.impact_agree", "impact_agree")),
          _hint("el porcentaje de participantes de acuerdo (promedio de 4 o 5) en 'Camino al "
                "impacto'.",
                "the share of participants agreeing (mean of 4 or 5) on 'Pathways to impact'."),
          tolerance=0.01),
    Check("05.reliable", "set", _reliable_stages,
          _hint("las partes cuya alfa de Cronbach es 0.7 o más (tabla de confiabilidad); "
                "responda con una lista de claves (design, delib, impact).",
                "the stages whose Cronbach's alpha is 0.7 or more (reliability table); answer "
                "with a list of stage ids (design, delib, impact).")),
    # 06 · impact (city)
    Check("06.pct_change", "number",
          lambda ch: 100.0 * math.expm1(float(ch.indicator("06.pct_change", "crime_att_cs_never",
                                                           city=True))),
          _hint("el efecto de Callaway y Sant'Anna (comparación con colonias que nunca entraron) "
                "está en log(1 + delitos): el cambio porcentual es 100 × (exp(efecto) − 1).",
                "the Callaway and Sant'Anna effect (against never-joined neighbourhoods) is in "
                "log(1 + crimes): the percent change is 100 × (exp(effect) − 1)."),
          tolerance=1.0, territory=False),
    Check("06.twfe_covers_truth", "bool",
          lambda ch: _covers(ch, "06.twfe_covers_truth", "crime_att_twfe",
                             float(ch.truth("06.twfe_covers_truth")["params"]
                                   ["crime_effect_log"])),
          _hint("¿el intervalo de TWFE incluye `crime_effect_log` de truth/params.json?",
                "does the TWFE interval include `crime_effect_log` from truth/params.json?"),
          territory=False),
    Check("06.cs_covers_truth", "bool",
          lambda ch: _covers(ch, "06.cs_covers_truth", "crime_att_cs_never",
                             float(ch.truth("06.cs_covers_truth")["params"]
                                   ["crime_effect_log"])),
          _hint("¿el intervalo de Callaway y Sant'Anna incluye `crime_effect_log` de "
                "truth/params.json?",
                "does the Callaway and Sant'Anna interval include `crime_effect_log` from "
                "truth/params.json?"), territory=False),
    Check("06.plan", "plan", lambda ch: None,
          _hint("el plan no es válido para este espacio de trabajo; corrija la clave que nombra "
                "el mensaje",
                "the plan is not valid for this workspace; fix the key the message names"),
          territory=False),
    # 07 · synthesis (city)
    Check("07.territories", "integer",
          lambda ch: int(ch.indicator("07.territories", "synthesis_territories", city=True)),
          _hint("cuántas colonias del programa resume la síntesis (las colonias de la tabla "
                "`territories` con `priority`).",
                "how many programme territories the synthesis summarises (rows of "
                "`territories` with `priority`)."), territory=False),
    Check("07.attention", "integer",
          lambda ch: int(ch.indicator("07.attention", "synthesis_attention", city=True)),
          _hint("cuente las colonias de la lista 'requieren atención' (`s07.attention`).",
                "count the territories in the 'require attention' list (`s07.attention`)."),
          territory=False),
    Check("07.median_coverage", "share",
          lambda ch: float(ch.indicator("07.median_coverage", "synthesis_median_block_coverage",
                                        city=True)),
          _hint("la mediana de `block_coverage` entre las colonias con indicadores (tabla "
                "ancha de indicadores).",
                "the median `block_coverage` over territories with indicators (wide indicator "
                "table)."), tolerance=0.01, territory=False),
):
    register(_c)
