"""``geoportal decision …``: the decision register of a node from the command line.

Every command names the node (``--config``) and, when it changes something, who acts (``--as
NAME:ROLE:KATOTTH``; roles in decisions/permissions.py). Each change rewrites the decision's public page
(``<workdir>/decisions/<id>.html``). Errors are one line with exit code 9 (10 when the role forbids it).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from decisions.errors import DecisionError
from decisions.model import Actor, Budget, Kind, Stage, Status, Text, parse_time


class Ctx:
    def __init__(self, config: Path, workdir: Path | None, now: str | None):
        from decisions.service import Register
        from geoportal.config import load_config
        from geoportal.model import Workspace

        self.cfg = load_config(config)
        self.ws = Workspace.for_node(self.cfg, workdir)
        self.reg = Register.for_node(self.cfg, self.ws)
        self.now: datetime | None = parse_time(now) if now else None

    def page(self, id: str | None = None) -> None:
        """After a change: the pages, the feeds and the published layers of the register (a served node
        answers the change on its next request; extents and ISO records follow at the next build)."""
        from decisions.publish import publish_register

        publish_register(self.cfg, self.ws, today=(self.now or datetime.now()).date())


def _actor(text: str | None) -> Actor:
    if not text:
        raise DecisionError("say who acts: --as NAME:ROLE[:KATOTTH] (e.g. 'Олена Коваль:official:UA18060170000069581')")
    name, _, rest = text.partition(":")
    role, _, org = rest.partition(":")
    if not name or not role:
        raise DecisionError(f"--as '{text}': give NAME:ROLE[:KATOTTH]")
    return Actor(name, role, org or None)


def _print(obj: Any, as_json: bool, text: str) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=1, default=str) if as_json else text)


as_opt = click.option("--as", "who", metavar="NAME:ROLE:KATOTTH", help="Who acts (role and organisation).")
json_opt = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
reason_opt = click.option("--reason", default=None, help="Why (recorded in the history).")


@click.group("decision")
@click.option("--config", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The node config.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Workspace folder (default: var/<node-id> or $GEOPORTAL_WORKDIR).")
@click.option("--now", default=None, metavar="ISO-TIME", help="Act as of this time instead of the clock (replaying "
              "paper records; deadlines are judged against it).")
@click.pass_context
def decision_cmd(ctx: click.Context, config: Path, workdir: Path | None, now: str | None) -> None:
    """Management decisions and development projects: draft → consultation → agreement → adopted →
    implementation → completed (or cancelled), justified by the node's own layers and passports."""
    ctx.obj = Ctx(config, workdir, now)


@decision_cmd.command("create")
@as_opt
@click.option("--title-uk", required=True)
@click.option("--title-en", default="")
@click.option("--summary-uk", default="")
@click.option("--summary-en", default="")
@click.option("--kind", required=True, type=click.Choice([x.value for x in Kind]))
@click.option("--issuer", required=True, help="KATOTTH code of the issuing body.")
@click.option("--geometry", default=None, help="WKT or GeoJSON (lon/lat), or @FILE holding one.")
@click.option("--features", default=None, metavar="DATASET:FID,FID", help="Take the geometry from these features.")
@click.option("--party", "parties", multiple=True, help="KATOTTH code of a body that must agree (repeat).")
@click.option("--cite", "cites", multiple=True, metavar="KATOTTH:INDICATOR", help="A passport indicator (repeat).")
@click.option("--document", "documents", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reason_opt
@json_opt
@click.pass_obj
def create(c: Ctx, who: str | None, title_uk: str, title_en: str, summary_uk: str, summary_en: str, kind: str,
           issuer: str, geometry: str | None, features: str | None, parties: tuple[str, ...], cites: tuple[str, ...],
           documents: tuple[Path, ...], reason: str | None, as_json: bool) -> None:
    """Draft a new decision."""
    if geometry and geometry.startswith("@"):
        geometry = Path(geometry[1:]).read_text(encoding="utf-8")
    feats = None
    if features:
        ds, _, ids = features.partition(":")
        try:
            feats = (ds, [int(x) for x in ids.split(",") if x.strip()])
        except ValueError:
            raise DecisionError(f"--features '{features}': give DATASET:FID,FID (integers)") from None
    cite_list = []
    for ct in cites:
        code, _, ind = ct.partition(":")
        cite_list.append({"katotth": code, "indicator": ind})
    d = c.reg.create(_actor(who), title=Text(title_uk, title_en), summary=Text(summary_uk, summary_en), kind=kind,
                     issuer=issuer, geometry=geometry, features=feats, parties=list(parties), cites=cite_list,
                     documents=list(documents), reason=reason or "drafted", now=c.now)
    c.page(d.id)
    _print(d.to_dict(), as_json, d.id)


@decision_cmd.command("show")
@click.argument("id")
@click.option("--history", "with_history", is_flag=True, help="Also every change: who, when, what, why.")
@json_opt
@click.pass_obj
def show(c: Ctx, id: str, with_history: bool, as_json: bool) -> None:
    """One decision (and its history)."""
    from decisions.service import agreement_state

    d = c.reg.get(id)
    hist = [asdict(h) for h in c.reg.history(id)] if with_history else []
    if as_json:
        _print({**d.to_dict(), "agreement": agreement_state(d, c.now), **({"history": hist} if with_history else {})},
               True, "")
        return
    lines = [f"{d.id}  [{d.status}]  {d.kind}  {d.issuer}", f"  {d.title.uk}", f"  {d.title.en}"]
    if d.consultation_until:
        lines.append(f"  consultation until {d.consultation_until}: {len(d.visible_comments())} visible comment(s)")
    for p, a in agreement_state(d, c.now).items():
        lines.append(f"  party {p}: {a}")
    for m in d.milestones:
        lines.append(f"  milestone {m.id} due {m.due} ({m.responsible}): {'done ' + m.done_at if m.done_at else 'open'}")
    for h in hist:
        lines.append(f"  {h['at']} {h['actor']['name']} ({h['actor']['role']}) {h['action']} {h['field'] or ''}"
                     f"{' — ' + h['reason'] if h['reason'] else ''}")
    click.echo("\n".join(lines))


@decision_cmd.command("list")
@click.option("--status", default=None, type=click.Choice([x.value for x in Status]))
@click.option("--kind", default=None, type=click.Choice([x.value for x in Kind]))
@json_opt
@click.pass_obj
def list_cmd(c: Ctx, status: str | None, kind: str | None, as_json: bool) -> None:
    """The register, filtered by status and kind."""
    ds = c.reg.list(status, kind)
    _print([{"id": d.id, "status": d.status, "kind": d.kind, "issuer": d.issuer, "title_uk": d.title.uk,
             "title_en": d.title.en} for d in ds], as_json,
           "\n".join(f"{d.id}  {d.status:<15} {d.kind:<22} {d.title.uk}" for d in ds))


@decision_cmd.command("transition")
@click.argument("id")
@click.argument("to", type=click.Choice([x.value for x in Status if x is not Status.DRAFT]))
@as_opt
@reason_opt
@click.option("--until", default=None, help="consultation: the date comments close (YYYY-MM-DD or ISO time).")
@click.option("--deadline", default=None, help="agreement: the date the parties must answer by.")
@click.option("--text", "text", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="adopted: the file of the adopted text (kept by its sha256).")
@click.pass_obj
def transition(c: Ctx, id: str, to: str, who: str | None, reason: str | None, until: str | None,
               deadline: str | None, text: Path | None) -> None:
    """Move a decision to its next status TO (or to cancelled)."""
    d = c.reg.transition(_actor(who), id, to, reason=reason or "", now=c.now, consultation_until=until,
                         agreement_deadline=deadline, adopted_text=text)
    c.page(id)
    click.echo(f"{d.id}: {d.status}")


@decision_cmd.command("comment")
@click.argument("id")
@click.argument("text")
@as_opt
@click.pass_obj
def comment(c: Ctx, id: str, text: str, who: str | None) -> None:
    """Comment on a decision in consultation (until its date)."""
    cm = c.reg.comment(_actor(who), id, text, now=c.now)
    c.page(id)
    click.echo(f"{id}: comment {cm.id}")


@decision_cmd.command("hide-comment")
@click.argument("id")
@click.argument("comment_id", type=int)
@as_opt
@reason_opt
@click.pass_obj
def hide_comment(c: Ctx, id: str, comment_id: int, who: str | None, reason: str | None) -> None:
    """Hide a comment (moderators; it is kept, never deleted)."""
    c.reg.hide_comment(_actor(who), id, comment_id, reason=reason or "", now=c.now)
    c.page(id)
    click.echo(f"{id}: comment {comment_id} hidden")


@decision_cmd.command("answer")
@click.argument("id")
@click.argument("party")
@click.argument("answer", type=click.Choice(["agree", "object"]))
@click.option("--reasons", default=None, help="Why the party objects (required for object).")
@as_opt
@json_opt
@click.pass_obj
def answer(c: Ctx, id: str, party: str, answer: str, reasons: str | None, who: str | None, as_json: bool) -> None:
    """Answer for a PARTY (its own officials): agree or object, before the deadline."""
    from decisions.service import answer_document

    a = c.reg.answer(_actor(who), id, party, answer, reasons=reasons, now=c.now)
    c.page(id)
    _print(answer_document(a), as_json, f"{id}: {party} {answer} ({a.id})")


@decision_cmd.command("answers")
@click.argument("id")
@click.pass_obj
def answers(c: Ctx, id: str) -> None:
    """The parties' answers as the JSON documents nodes exchange (immutable, each with its own id)."""
    from decisions.service import answer_document

    click.echo(json.dumps([answer_document(a) for a in c.reg.get(id).answers], ensure_ascii=False, indent=1))


@decision_cmd.group("milestone")
def milestone() -> None:
    """Milestones of implementation: add, report progress."""


@milestone.command("add")
@click.argument("id")
@click.option("--title", required=True)
@click.option("--due", required=True, help="YYYY-MM-DD")
@click.option("--responsible", required=True, help="KATOTTH code of the responsible body.")
@as_opt
@click.pass_obj
def milestone_add(c: Ctx, id: str, title: str, due: str, responsible: str, who: str | None) -> None:
    m = c.reg.add_milestone(_actor(who), id, title, due, responsible, now=c.now)
    c.page(id)
    click.echo(f"{id}: milestone {m.id} due {m.due}")


@milestone.command("report")
@click.argument("id")
@click.argument("milestone_id", type=int)
@click.option("--progress", type=int, required=True, help="Percent done (100 closes the milestone).")
@click.option("--text", required=True)
@as_opt
@click.pass_obj
def milestone_report(c: Ctx, id: str, milestone_id: int, progress: int, text: str, who: str | None) -> None:
    m = c.reg.report(_actor(who), id, milestone_id, progress, text, now=c.now)
    c.page(id)
    click.echo(f"{id}: milestone {m.id} {progress} %{' — done' if m.done_at else ''}")


@decision_cmd.group("target")
def target() -> None:
    """Target indicators "from X to Y" of a hromada, with their actual value from the passport."""


@target.command("add")
@click.argument("id")
@click.argument("indicator")
@click.argument("katotth")
@click.argument("from_value", type=float)
@click.argument("to_value", type=float)
@as_opt
@click.pass_obj
def target_add(c: Ctx, id: str, indicator: str, katotth: str, from_value: float, to_value: float,
               who: str | None) -> None:
    c.reg.add_target(_actor(who), id, indicator, katotth, from_value, to_value, now=c.now)
    c.page(id)
    click.echo(f"{id}: target {indicator} ({katotth}) {from_value:g} → {to_value:g}")


@target.command("recompute")
@click.argument("id")
@as_opt
@json_opt
@click.pass_obj
def target_recompute(c: Ctx, id: str, who: str | None, as_json: bool) -> None:
    """Read each target's actual value again from the node's latest passport."""
    d = c.reg.recompute_targets(_actor(who), id, now=c.now)
    c.page(id)
    _print([asdict(t) for t in d.targets], as_json,
           "\n".join(f"{t.indicator} ({t.katotth}): {t.from_value:g} → {t.to_value:g}, actual {t.actual}"
                     for t in d.targets))


@decision_cmd.command("overdue")
@click.option("--as-of", default=None, help="YYYY-MM-DD (default: today, or --now).")
@click.option("--network", is_flag=True, help="Every node reachable from this one (an oblast: all its hromadas), "
              "as each node published it.")
@json_opt
@click.pass_obj
def overdue(c: Ctx, as_of: str | None, network: bool, as_json: bool) -> None:
    """Milestones past their due date and not done."""
    day = as_of or (c.now or datetime.now()).date().isoformat()
    if network:
        from decisions.overview import network_overdue
        from decisions.publish import node_base_url

        found = network_overdue(c.cfg, node_base_url(c.cfg, c.ws), as_of=day)
        _print(found, as_json, "\n".join(f"{r['node']}: {r['error']}" if "error" in r else
                                          f"{r['id']} ({r['issuer']}, {r['status']}): {r['milestones_overdue']} "
                                          f"overdue — {r['title_uk']}" for r in found) or "nothing overdue")
        return
    rows = [{"decision": d.id, "milestone": m.id, "title": m.title, "due": m.due, "responsible": m.responsible}
            for d, m in c.reg.overdue(day)]
    _print(rows, as_json, "\n".join(f"{r['decision']} #{r['milestone']} due {r['due']} ({r['responsible']}): "
                                    f"{r['title']}" for r in rows) or f"nothing overdue as of {day}")


@decision_cmd.command("pages")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.pass_obj
def pages(c: Ctx, out: Path | None) -> None:
    """(Re)write the HTML page of every decision and the index of the register."""
    from decisions.page import write_index, write_pages, write_project_pages
    from geoportal.portal import Site

    ds = c.reg.list()
    projects = c.reg.list_projects()
    site = Site.of_config(c.cfg)
    folder = out or c.ws.root / "decisions"
    written = write_pages(ds, folder, site=site, projects=projects)
    written += write_project_pages(projects, ds, folder, site=site,
                                   history_of=lambda i: c.reg.history(i, entity="project"))
    write_index(ds, folder, names={}, site=site, history_of=c.reg.history, projects=projects)
    click.echo(f"{len(written)} pages → {folder}")


@decision_cmd.command("export")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="GeoPackage to write (default <workdir>/decisions-export.gpkg; the published layer, "
                   "rewritten after every change, is <workdir>/register/decisions.gpkg).")
@click.pass_obj
def export(c: Ctx, out: Path | None) -> None:
    """The register as a GeoPackage layer 'decisions' (for the OGC API collection)."""
    from decisions.export import export_gpkg

    # not in downloads/: decisions.gpkg there is the published dataset's download, with its own schema
    path = export_gpkg(c.reg.list(), out or c.ws.root / "decisions-export.gpkg",
                       as_of=(c.now or datetime.now()).date().isoformat())
    click.echo(str(path))


@decision_cmd.group("project")
def project() -> None:
    """Development projects: idea → preparation → funding → procurement → works → commissioning."""


@project.command("create")
@as_opt
@click.option("--title-uk", required=True)
@click.option("--title-en", default="")
@click.option("--issuer", required=True)
@click.option("--decision", "decisions", multiple=True, required=True, help="A decision that launched it (repeat).")
@click.option("--budget", "budget", multiple=True, metavar="SOURCE:PLANNED", help="Planned money by source (UAH).")
@click.pass_obj
def project_create(c: Ctx, who: str | None, title_uk: str, title_en: str, issuer: str, decisions: tuple[str, ...],
                   budget: tuple[str, ...]) -> None:
    items = []
    for b in budget:
        src, _, amount = b.rpartition(":")
        try:
            items.append(Budget(src, float(amount)))
        except ValueError:
            raise DecisionError(f"--budget '{b}': give SOURCE:AMOUNT, e.g. 'state budget:1200000'") from None
    p = c.reg.create_project(_actor(who), title=Text(title_uk, title_en), issuer=issuer, decisions=list(decisions),
                             budget=items, now=c.now)
    c.page()
    click.echo(p.id)


@project.command("transition")
@click.argument("id")
@click.argument("to", type=click.Choice([x.value for x in Stage if x is not Stage.IDEA]))
@as_opt
@reason_opt
@click.option("--tender-id", default=None, help="procurement: the tender id (e.g. UA-2026-05-12-000123-a).")
@click.pass_obj
def project_transition(c: Ctx, id: str, to: str, who: str | None, reason: str | None, tender_id: str | None) -> None:
    p = c.reg.transition_project(_actor(who), id, to, reason=reason or "", tender_id=tender_id, now=c.now)
    c.page()
    click.echo(f"{p.id}: {p.stage}")


@project.command("budget")
@click.argument("id")
@click.argument("source")
@click.option("--planned", type=float, default=None)
@click.option("--actual", type=float, default=None)
@as_opt
@reason_opt
@click.pass_obj
def project_budget(c: Ctx, id: str, source: str, planned: float | None, actual: float | None, who: str | None,
                   reason: str | None) -> None:
    p = c.reg.set_budget(_actor(who), id, source, planned=planned, actual=actual, reason=reason or "budget updated",
                         now=c.now)
    c.page()
    click.echo("; ".join(f"{b.source}: {b.planned:.2f}/{b.actual:.2f} {b.currency}" for b in p.budget))


@project.command("list")
@json_opt
@click.pass_obj
def project_list(c: Ctx, as_json: bool) -> None:
    ps = c.reg.list_projects()
    _print([p.to_dict() for p in ps], as_json, "\n".join(f"{p.id}  {p.stage:<14} {p.title.uk}" for p in ps))


@decision_cmd.command("ocds")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: stdout).")
@click.option("--uri", default=None, help="Where the package is published (default <node url>/decisions/ocds.json).")
@click.option("--ocid-prefix", default="ocds-gpnw01", show_default=True)
@click.pass_obj
def ocds(c: Ctx, out: Path | None, uri: str | None, ocid_prefix: str) -> None:
    """Every development project as an OCDS 1.1 release package, validated against the official OCDS 1.1
    release package schema (shipped with the node, read offline) before anything is written."""
    from decisions.ocds import release_package
    from geoportal.model import write_atomic

    base = (c.cfg.node.url or "http://127.0.0.1:8000").rstrip("/")
    pkg = release_package(c.reg.list_projects(), uri=uri or f"{base}/decisions/ocds.json",
                          publisher=c.cfg.node.name.uk, ocid_prefix=ocid_prefix,
                          buyer_names={c.cfg.node.katotth: c.cfg.node.name.uk})
    text = json.dumps(pkg, ensure_ascii=False, indent=1)
    if out:
        write_atomic(out, text)
        click.echo(str(out))
    else:
        click.echo(text)


@decision_cmd.command("ocds-import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@as_opt
@click.option("--ocid-prefix", default="ocds-gpnw01", show_default=True,
              help="This node's prefix: an ocid '<prefix>-<project id>' is this node's own project.")
@json_opt
@click.pass_obj
def ocds_import(c: Ctx, file: Path, who: str | None, ocid_prefix: str, as_json: bool) -> None:
    """Create or update development projects from FILE, an OCDS release package (or a JSON list of releases),
    matched by ocid: stage, budget planned/actual by source, tender id, decisions. All or nothing: the releases
    are validated against the official OCDS 1.1 schema first (as every export is), and one refused release
    (schema, permission, a stage behind the register's) imports none — the error names the release, the field
    and what to do."""
    from decisions.ocds import OcdsImportError, read_releases

    actor = _actor(who)
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise OcdsImportError(f"{file}: not a JSON file ({e}); give an OCDS release package") from None
    except RecursionError:
        raise OcdsImportError(f"{file}: nests its values too deeply to be read; give an OCDS release package, as "
                              "`geoportal decision ocds` writes it") from None
    report = c.reg.import_releases(actor, read_releases(doc), source=file.name, ocid_prefix=ocid_prefix, now=c.now)
    c.page()
    lines = ([f"created {i} ← {o}" for i, o in report.created] + [f"updated {i} ← {o}" for i, o in report.updated]
             + [f"unchanged {i}" for i in report.unchanged] + [f"note: {n}" for n in report.notes])
    _print(asdict(report), as_json, "\n".join(lines))


@decision_cmd.group("inbox", invoke_without_command=True)
@json_opt
@click.pass_context
def inbox_cmd(ctx: click.Context, as_json: bool) -> None:
    """The agreement requests other nodes sent to this node's body (and their state)."""
    if ctx.invoked_subcommand is not None:
        return
    c: Ctx = ctx.obj
    items = c.reg.inbox(c.now)
    lines = [f"{m['id']}  [{m['state']}]  {m['body']['decision']['id']} from {m['body']['from']['node']} "
             f"for {m['body']['party']} until {m['body']['decision'].get('agreement_deadline') or '—'}\n"
             f"  {m['body']['decision']['title']['uk']}" for m in items]
    _print(items, as_json, "\n".join(lines) or "the inbox is empty")


@inbox_cmd.command("answer")
@click.argument("message")
@click.argument("answer", type=click.Choice(["agree", "object"]))
@click.option("--reasons", default=None, help="Why the body objects (required for object).")
@as_opt
@json_opt
@click.pass_obj
def inbox_answer(c: Ctx, message: str, answer: str, reasons: str | None, who: str | None, as_json: bool) -> None:
    """Answer a request of the inbox (MESSAGE: its urn:uuid: id); the answer travels back at the next sync."""
    from decisions.service import answer_document

    a = c.reg.answer_request(_actor(who), message, answer, reasons=reasons, now=c.now)
    _print(answer_document(a), as_json, f"{a.decision}: {a.party} {answer} ({a.id}); queued for the issuing node")


@decision_cmd.command("outbox")
@click.option("--state", type=click.Choice(["pending", "delivered", "refused"]), default=None)
@json_opt
@click.pass_obj
def outbox_cmd(c: Ctx, state: str | None, as_json: bool) -> None:
    """The agreement requests and answers this node sends: pending (with the last error), delivered, refused."""
    items = c.reg.outbox(state)
    lines = [f"{m['id']}  [{m['state']}]  {m['kind']} to {m['to']}  attempts {m['attempts']}"
             f"{'  next ' + m['next_try'] if m['state'] == 'pending' else ''}"
             f"{'  — ' + m['last_error'] if m.get('last_error') else ''}" for m in items]
    _print(items, as_json, "\n".join(lines) or "the outbox is empty")


@decision_cmd.command("sync")
@click.option("--force", is_flag=True, help="Try every pending message now, whatever its retry time.")
@json_opt
@click.pass_obj
def sync_cmd(c: Ctx, force: bool, as_json: bool) -> None:
    """Deliver the outbox to the parties' nodes (signed with this node's key) and record silence after
    deadlines. Safe to run at any time and as often as wanted (every `geoportal harvest` runs it too)."""
    from dataclasses import asdict as _asdict

    from decisions.delivery import sync

    report = sync(c.cfg, c.ws, now=c.now, force=force)
    c.page()
    _print(_asdict(report), as_json, report.summary() + "".join(f"\n  pending {i}: {w}" for i, w in report.pending)
           + "".join(f"\n  refused {i}: {w}" for i, w in report.refused))
