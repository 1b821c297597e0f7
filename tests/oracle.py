#!/usr/bin/env python3
"""Independent oracle for import_ecoloweb_data.

Reads the raw Ecoloweb tables (schema `ecolo`) from the source database,
computes in Python, from docs/mapping.md alone, the convention history H and
every APiLos row an import into an EMPTY APiLos database must create
(clarification C7: no skip rule, no tombstones, no update mode), then reads
the target database and compares, entity by entity and column by column,
keyed by Ecoloweb keys (never by APiLos ids).

    oracle.py --source URL --target URL --departement D [D...]
              [--run-date YYYY-MM-DD] [--run-start ISO-TIMESTAMP]
    oracle.py --source URL --print-history [--departement D...]
    oracle.py --source URL --list-errors --departement D [D...]

Exit status: 0 everything matches; 1 a mismatch (or an import that should
have failed); 2 usage / database error.

Python standard library only; PostgreSQL is reached through
`psql -X --csv -v ON_ERROR_STOP=1`.
"""

import argparse
import csv
import datetime as dt
import io
import os
import re
import struct
import subprocess
import sys
import uuid as uuidmod
from collections import defaultdict
from decimal import Decimal, ROUND_HALF_UP
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.timezone.utc
NULL = "\x1eNULL\x1e"  # psql null marker (never found in real data)
MAX_DIFFS = 20
NRS = "Non renseigné (Ecoloweb)"


# --------------------------------------------------------------------------
# PostgreSQL access
# --------------------------------------------------------------------------

class DbError(Exception):
    pass


def psql(url, sql):
    """Run one SQL statement, return a list of dicts (text values, None)."""
    env = dict(os.environ)
    env["PGCLIENTENCODING"] = "UTF8"
    env["PGTZ"] = "UTC"
    env["PGOPTIONS"] = ("-c extra_float_digits=1 -c DateStyle=ISO,YMD "
                        "-c TimeZone=UTC -c IntervalStyle=postgres")
    cmd = ["psql", "-X", "--csv", "-v", "ON_ERROR_STOP=1", "-P",
           "null=" + NULL, "-d", url, "-c", sql]
    p = subprocess.run(cmd, capture_output=True, env=env)
    if p.returncode != 0:
        raise DbError("psql failed (%d) for: %s\n%s" % (
            p.returncode, sql[:200], p.stderr.decode("utf-8", "replace")))
    rows = list(csv.reader(io.StringIO(p.stdout.decode("utf-8"),
                                       newline="")))
    if not rows:
        return []
    header = rows[0]
    return [dict(zip(header, [None if v == NULL else v for v in r]))
            for r in rows[1:]]


# --------------------------------------------------------------------------
# value helpers (mapping.md 2.4)
# --------------------------------------------------------------------------

def I(v):
    return None if v is None else int(v)


def B(v):
    if v is None:
        return None
    return v == "t"


def D(v):
    return None if v is None else dt.date.fromisoformat(v)


def midnight_paris(d):
    """Instant at which local date d starts in Europe/Paris."""
    if d is None:
        return None
    return dt.datetime(d.year, d.month, d.day, tzinfo=PARIS).astimezone(UTC)


def first(*vals):
    for v in vals:
        if v is not None:
            return v
    return None


def cat4(a, b, c, d):
    if a is None or b is None or c is None or d is None:
        return None
    return "%s %s %s %s" % (a, b, c, d)


def nn(v):
    """NULL -> '' for NOT NULL text columns of the HEAD schema."""
    return "" if v is None else v


def float4(text):
    return struct.unpack("f", struct.pack("f", float(text)))[0]


def r2s(text):
    """SQL round(cast(real as numeric), 2): float4 -> numeric keeps
    FLT_DIG = 6 significant digits, then half away from zero."""
    if text is None:
        return None
    v = Decimal("%.6g" % float4(text))
    return v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def r2p(text):
    """Python round(float(text), 2), then stored in a numeric(,2)."""
    if text is None:
        return None
    v = round(float(text), 2)
    return Decimal(repr(v)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def to_scale(text, scale):
    """C9: shortest text of the value, rounded half away from zero."""
    if text is None:
        return None
    return Decimal(text).quantize(Decimal(1).scaleb(-scale),
                                  rounding=ROUND_HALF_UP)


def overflows(value, precision, scale):
    return value is not None and abs(value) >= Decimal(10) ** (precision - scale)


def pyrepr(x):
    return repr(x)


def surface_text(text):
    if text is None:
        return "0 ha 0 a 0 ca"
    s = float(text)
    return "%s ha %s a %s ca" % (pyrepr(s // 10000), pyrepr((s % 10000) // 100),
                                 pyrepr(s % 100))


def strip_search(v):
    if v is None:
        return None
    return re.sub(r"[/\- .]", "", v)


def present(x):
    """trim (U+0020 only); None when NULL or empty."""
    if x is None:
        return None
    t = x.strip(" ")
    return t if t != "" else None


DIGITS14 = re.compile(r"[0-9]{14}\Z")


def typologie(code):
    if code in ("ST1", "T1"):
        return "T1"
    if code in ("T1B", "T1P"):
        return "T1bis"
    return code


# --------------------------------------------------------------------------
# source
# --------------------------------------------------------------------------

class Row(dict):
    __getattr__ = dict.get


SOURCE_QUERIES = {
    "capl": "SELECT id, noreglementaire, datedepot, datesaisie, "
            "datemodification, entitecreatrice_id FROM ecolo.ecolo_conventionapl",
    "cdg": "SELECT id, conventionapl_id, avenant_id, etatconvention_id, "
           "naturelogement_id, datehistoriquedebut, datehistoriquefin, "
           "datesignatureprefet, datesignatureentitegest, "
           "dateresiliationprefet, datepublication, referencepublication, "
           "daterefushypotheque, motifrefushypotheque "
           "FROM ecolo.ecolo_conventiondonneesgenerales",
    "avenant": "SELECT id, conventionapl_id, numero, datesignatureprefet "
               "FROM ecolo.ecolo_avenant",
    "vps": "SELECT id, subtype, code, libelle, estgeneresysteme "
           "FROM ecolo.ecolo_valeurparamstatic",
    "nl": "SELECT id, code FROM ecolo.ecolo_naturelogement",
    "pl": "SELECT id, conventiondonneesgenerales_id, typefinancement_id, "
          "commune_id, bailleurproprietaire_id, bailleurgestionnaire_id, "
          "natureoperation_id, description, logementsnombretotal, "
          "logementsnombreindtotal, logementsnombrecoltotal, "
          "reservationprefnombre, financementreferencedossier, "
          "financementdate, datemiseservice, datemisechantier, surfaceutile, "
          "surfacecorrigee, surfacehabitable, estderogationloyer, "
          "montantplafondloyerindinitial, montantplafondloyercolinitial "
          "FROM ecolo.ecolo_programmelogement",
    "tf": "SELECT id, code, famillefinancement_id FROM ecolo.ecolo_typefinancement",
    "ff": "SELECT id, code FROM ecolo.ecolo_famillefinancement",
    "commune": "SELECT id, code, libelle, departement_id FROM ecolo.ecolo_commune",
    "dep": "SELECT id, codeinsee, region_id FROM ecolo.ecolo_departement",
    "region": "SELECT id, codeinsee FROM ecolo.ecolo_region",
    "codepostal": "SELECT id, codeinsee, codepostal FROM ecolo.ecolo_codepostal",
    "padr": "SELECT id, programmelogement_id, ligne1, ligne2, ligne3, ligne4, "
            "codepostal FROM ecolo.ecolo_programmeadresse",
    "bailleur": "SELECT id, raisonsociale, codesiret, codesiren, codepersonne, "
                "datemodif, adresse_id, sousnaturebailleur_id "
                "FROM ecolo.ecolo_bailleur",
    "abail": "SELECT id, ligne1, ligne2, ligne3, ligne4, codepostal, ville "
             "FROM ecolo.ecolo_adressebailleur",
    "snb": "SELECT id, code FROM ecolo.ecolo_sousnaturebailleur",
    "contact": "SELECT id, bailleur_id, civilite_id, prenom, nom "
               "FROM ecolo.ecolo_contactbailleur",
    "eg": "SELECT id, code, nom, adresse_id FROM ecolo.ecolo_entitegest",
    "ega": "SELECT id, ligne1, ligne2, ligne3, ligne4, codepostal, ville "
           "FROM ecolo.ecolo_entitegestadresse",
    "logement": "SELECT id, programmelogement_id, typelogement_id, "
                "numerobatiment, noescalier, etage, numerologement, "
                "surfacecorrigee, surfaceutile, surfacehabitable, "
                "surfaceannexe, coefficientmodulation, montantloyer "
                "FROM ecolo.ecolo_logement",
    "annexe": "SELECT id, programmelogement_id, typeannexe_id, nombre "
              "FROM ecolo.ecolo_annexe",
    "ic": "SELECT id, programmelogement_id, section, parcelle, superficie "
          "FROM ecolo.ecolo_infocadastrale",
    "il": "SELECT id, programmelogement_id, typelogement_id, nblogtind, "
          "nblogtcol FROM ecolo.ecolo_infostypelogement",
    # C3: the extension is extracted by the source server (\w is locale-aware)
    "pj": "SELECT id, conventionapl_id, typepiecejointe_id, entitegest_id, "
          "fichier, description, date, "
          "(regexp_match(fichier, '\\.(\\w+)$'))[1] AS ext, "
          "char_length(fichier) AS fichier_len "
          "FROM ecolo.ecolo_piecejointe",
    "evenement": "SELECT id, conventionapl_id, typeevenement_id, date, "
                 "description FROM ecolo.ecolo_evenement",
}

INT_COLS = {
    "id", "conventionapl_id", "avenant_id", "etatconvention_id",
    "naturelogement_id", "entitecreatrice_id", "numero",
    "conventiondonneesgenerales_id", "typefinancement_id", "commune_id",
    "bailleurproprietaire_id", "bailleurgestionnaire_id",
    "natureoperation_id", "logementsnombretotal", "logementsnombreindtotal",
    "logementsnombrecoltotal", "reservationprefnombre",
    "famillefinancement_id", "departement_id", "region_id",
    "programmelogement_id", "adresse_id", "sousnaturebailleur_id",
    "bailleur_id", "civilite_id", "typelogement_id", "typeannexe_id",
    "nombre", "nblogtind", "nblogtcol", "typepiecejointe_id",
    "entitegest_id", "typeevenement_id", "fichier_len",
}
DATE_COLS = {
    "datedepot", "datesaisie", "datemodification", "datehistoriquedebut",
    "datehistoriquefin", "datesignatureprefet", "datesignatureentitegest",
    "dateresiliationprefet", "datepublication", "daterefushypotheque",
    "financementdate", "datemiseservice", "datemisechantier", "datemodif",
    "date",
}
BOOL_COLS = {"estgeneresysteme", "estderogationloyer"}


class Source:
    def __init__(self, url):
        self.url = url
        for name, sql in SOURCE_QUERIES.items():
            table = {}
            for r in psql(url, sql):
                row = Row()
                for k, v in r.items():
                    if k in INT_COLS:
                        row[k] = I(v)
                    elif k in DATE_COLS:
                        row[k] = D(v)
                    elif k in BOOL_COLS:
                        row[k] = B(v)
                    else:
                        row[k] = v  # text, and floats kept as their text
                table[row["id"]] = row
            setattr(self, name, table)
        self.pl_by_cdg = self._group(self.pl, "conventiondonneesgenerales_id")
        self.padr_by_pl = self._group(self.padr, "programmelogement_id")
        self.cp_by_insee = self._group(self.codepostal, "codeinsee")
        self.contact_by_b = self._group(self.contact, "bailleur_id")
        self.logement_by_pl = self._group(self.logement, "programmelogement_id")
        self.annexe_by_pl = self._group(self.annexe, "programmelogement_id")
        self.ic_by_pl = self._group(self.ic, "programmelogement_id")
        self.il_by_pl = self._group(self.il, "programmelogement_id")
        self.pj_by_capl = self._group(self.pj, "conventionapl_id")
        self.ev_by_capl = self._group(self.evenement, "conventionapl_id")

    @staticmethod
    def _group(table, col):
        out = defaultdict(list)
        for r in sorted(table.values(), key=lambda r: r["id"]):
            out[r[col]].append(r)
        return out


# --------------------------------------------------------------------------
# convention history H (mapping.md 1.2 - 1.7)
# --------------------------------------------------------------------------

FIN_ORDER = lambda f: f.encode("utf-8")  # byte order (C collation)


def fin_of_pl(S, pl):
    tf = S.tf.get(pl.typefinancement_id)
    if tf is None:
        return None
    ff = S.ff.get(tf.famillefinancement_id)
    if ff is None:
        return None
    if tf.code in ("18", "22", "93"):
        return "SANS_FINANCEMENT"
    return ff.code


def compute_history(S, warnings):
    # Step A: iterations per conventionapl
    iters = defaultdict(list)  # capl -> [ [cdg, avenant_id, numero] ]
    roots = defaultdict(list)
    for g in S.cdg.values():
        if g.avenant_id is not None:
            continue
        etat = S.vps.get(g.etatconvention_id)
        if etat is None or etat.code == "ANI":
            continue
        roots[g.conventionapl_id].append(g)
    for capl, gs in roots.items():
        g = max(gs, key=lambda g: (g.datehistoriquedebut, g.id))
        iters[capl].append([g.id, None, 0])
    cdg_by_avenant = defaultdict(list)
    for g in S.cdg.values():
        if g.avenant_id is not None:
            cdg_by_avenant[g.avenant_id].append(g)
    for a in S.avenant.values():
        if a.numero is None or a.numero <= 0:
            continue
        gs = cdg_by_avenant.get(a.id, [])
        if len(gs) > 1:
            warnings.append("P-dup: avenant %d has %d CDG rows, keeping the "
                            "latest" % (a.id, len(gs)))
        g = max(gs, key=lambda g: (g.datehistoriquedebut, g.id)) if gs else None
        iters[a.conventionapl_id].append([g.id if g else None, a.id, a.numero])
    # A3: CDG fallback to the first iteration ordered by numero
    for capl, its in iters.items():
        its.sort(key=lambda it: it[2])
        first_cdg = its[0][0]
        for it in its:
            if it[0] is None:
                it[0] = first_cdg

    fins_cache = {}

    def pairs_of(cdg):
        if cdg not in fins_cache:
            groups = defaultdict(list)
            for pl in S.pl_by_cdg.get(cdg, []):
                f = fin_of_pl(S, pl)
                if f is not None:
                    groups[f].append(pl)
            fins_cache[cdg] = groups
        return fins_cache[cdg]

    cands = []
    for capl, its in iters.items():
        if capl not in S.capl:
            continue
        for cdg, av, num in its:
            if cdg is None:
                continue
            for f, pls in sorted(pairs_of(cdg).items()):
                # Step C
                joined = []
                for pl in pls:
                    com = S.commune.get(pl.commune_id)
                    dep = S.dep.get(com.departement_id) if com else None
                    if com is None or dep is None:
                        continue
                    joined.append((pl, com, dep))
                codes = {c.code for _, c, _ in joined if c.code is not None}
                owners = {p.bailleurproprietaire_id for p, _, _ in joined}
                if len(codes) != 1 or len(owners) != 1:
                    continue
                pids = sorted({p.id for p, _, _ in joined})
                deps = sorted({d.codeinsee for _, _, d in joined
                               if d.codeinsee is not None},
                              key=FIN_ORDER)
                cands.append(Row(
                    id="%d:%s:%d" % (capl, f, num), cdg=cdg,
                    capl=capl, avenant_id=av, fin=f, numero=num,
                    is_avenant=num > 0,
                    parent_id=None if num == 0 else "%d:%s:0" % (capl, f),
                    programme_ids=pids, departements=deps))
    # Step D: departement per conventionapl, is_last per (capl, fin)
    by_capl = defaultdict(list)
    for h in cands:
        by_capl[h.capl].append(h)
    for capl, hs in by_capl.items():
        hs_sorted = sorted(hs, key=lambda h: (FIN_ORDER(h.fin), -h.numero))
        dep = hs_sorted[0].departements[0] if hs_sorted[0].departements else None
        last = {}
        for h in hs:
            if h.fin not in last or h.numero > last[h.fin]:
                last[h.fin] = h.numero
        for h in hs:
            h["departement"] = dep
            h["is_last"] = h.numero == last[h.fin]
    ids = {h.id for h in cands}
    if len(ids) != len(cands):
        raise DbError("history ids are not unique (oracle bug)")
    for h in cands:
        h["parent_exists"] = h.parent_id in ids
    cands.sort(key=lambda h: (h.capl, FIN_ORDER(h.fin), h.numero))
    return cands


def print_history(H, deps):
    print("id|cdg|avenant|fin|num|parent_id|parent exists|programme_ids|"
          "dept|is_last")
    for h in H:
        if deps and h.departement not in deps:
            continue
        print("|".join([
            h.id, str(h.cdg), "-" if h.avenant_id is None else str(h.avenant_id),
            h.fin, str(h.numero), h.parent_id or "-",
            "-" if h.parent_id is None else ("yes" if h.parent_exists else "no"),
            "{%s}" % ",".join(str(p) for p in h.programme_ids),
            h.departement or "", "t" if h.is_last else "f"]))


# --------------------------------------------------------------------------
# expected rows (mapping.md section 2, import into an empty database)
# --------------------------------------------------------------------------

class Ref:
    """Expected foreign key: the APiLos row referenced by (model, key)."""

    def __init__(self, model, key):
        self.model, self.key = model, key

    def __repr__(self):
        return "<%s %s>" % (self.model.split(".")[1], self.key)


class Special:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "<%s>" % self.name


INSERTION = Special("insertion time")
TODAY = Special("today (Europe/Paris)")

M_CONV = "conventions.Convention"
M_LOT = "programmes.Lot"
M_PROG = "programmes.Programme"
M_BAIL = "bailleurs.Bailleur"
M_ADM = "instructeurs.Administration"
M_LOG = "programmes.Logement"
M_REP = "programmes.RepartitionSurface"
M_CAD = "programmes.ReferenceCadastrale"
M_PJ = "conventions.PieceJointe"
M_EV = "conventions.Evenement"
M_TS = "programmes.TypeStationnement"

SHARED = {M_BAIL, M_ADM}

SNB_MAP = {}
for _codes, _sous in [
        (("110", "112", "130"), "COOPERATIVE_HLM_SCIC"),
        (("114",), "OFFICE_PUBLIC_HLM"), (("120",), "SA_HLM_ESH"),
        (("140",), "SACI_CAP"), (("210",), "SEM_EPL"), (("312",), "COMMUNE"),
        (("314", "325", "335"), "ETC_PUBLIQUE_LOCAL"),
        (("316",), "ETS_HOSTIPATIERS_PRIVES"), (("320", "333"), "EPCI"),
        (("321",), "FONDATION_HLM"),
        (("322", "323", "324", "327", "329"), "ASSOCIATIONS"),
        (("326",), "COMMERCIALES"), (("328",), "FRONCIERE_LOGEMENT"),
        (("330",), "GIP"), (("331",), "FONDATION"), (("332",), "MUTUELLE"),
        (("334",), "DEPARTEMENT"), (("336",), "PACT_ARIM"),
        (("337",), "CROUS"), (("338",), "DRE_DDE_CETE_AC_PREF"),
        (("611",), "PARTICULIERS")]:
    for _c in _codes:
        SNB_MAP[_c] = _sous

AUTRES = "Autres bailleurs sociaux non HLM"
NATURE_OF_SOUS = {
    "COOPERATIVE_HLM_SCIC": "HLM", "OFFICE_PUBLIC_HLM": "HLM",
    "SA_HLM_ESH": "HLM", "SEM_EPL": "SEM", "PARTICULIERS": "Bailleurs privés",
}

TYPE_OPERATION = {
    "Acquisition seule": "ACQUIS", "Neuf ou construction": "NEUF",
    "Acquisition/amélioration": "ACQUISAMELIORATION",
    "Amélioration": "REHABILITATION", "Parc existant": "USUFRUIT",
}

PJ_TYPES = {"1": "CONVENTION", "2": "RECTIFICATION",
            "3": "ATTESTATION_PREFECTORALE", "4": "AVENANT", "5": "PHOTO"}

EV_TYPES = {
    "1": "DEPOT_BAILLEUR", "2": "MODIFICATION", "3": "ECHANGE",
    "4": "ENVOI_PREFET", "5": "RETOUR_PREFET", "6": "ENVOI_HYPOTHEQUE",
    "7": "RETOUR_HYPOTHEQUE", "8": "ENVOI_RECTIFICATIF_PREFET",
    "9": "RETOUR_RECTIFICATIF_PREFET", "10": "PUBLICATION_HYPOTHEQUE",
    "11": "ENVOI_CAF", "12": "DEPOT_AVENANT", "13": "INSTRUCTION_AVENANT",
    "14": "CORRECTION_AVENANT", "15": "ENVOI_AVENANT_PREFET",
    "16": "SIGNATURE_AVENANT_PREFET", "17": "ENVOI_AVENANT_HYPOTHEQUE",
    "18": "RETOUR_AVENANT_HYPOTHEQUE",
    "19": "ENVOI_RECTIFICATIF_AVENANT_PREFET",
    "20": "RETOUR_RECTIFICATIF_AVENANT_PREFET",
    "21": "PUBLICATION_AVENANT_HYPOTHEQUE", "25": "EXPIRATION_CONVENTION",
    "26": "ENVOI_FIN_DENONCIATION", "36": "AUTRE",
}


class Expected:
    """Simulates an import of the départements, in order, into an empty
    APiLos database and records the rows and references it must create."""

    def __init__(self, S, H, run_date):
        self.S, self.H, self.run_date = S, H, run_date
        self.hmap = {h.id: h for h in H}
        self.rows = defaultdict(dict)      # model -> key -> row
        self.refs = {}                     # (model, key) -> Row(dep, target)
        self.links = set()                 # conventions with avenant type
        # shared entities: the row each Ecolo key would create if it were
        # the first of its identity group (concurrent imports, C6)
        self.alt = defaultdict(dict)
        self.errors = []                   # C5: unmappable values
        self.warnings = []
        self.dep = None
        self.hs_by_prog = {}
        for h in H:  # H is sorted: the first row per (capl, numero) is hs
            self.hs_by_prog.setdefault("%d:%d" % (h.capl, h.numero), h)

    # -- bookkeeping
    def add(self, model, key, row, target=None):
        self.refs[(model, key)] = Row(dep=self.dep,
                                      target=key if target is None else target)
        if row is not None:
            self.rows[model][key] = row

    def has(self, model, key):
        return (model, key) in self.refs

    def error(self, table, ident, column, value, target, reason):
        """target = 'apilos_table.column' the value was meant for."""
        ttable, tcol = target.split(".")
        self.errors.append(Row(dep=self.dep, table=table, id=ident,
                               column=column, value=value, ttable=ttable,
                               tcolumn=tcol, reason=reason))

    def numeric(self, table, ident, column, text, precision, scale,
                target, value=None):
        v = to_scale(text, scale) if value is None else value
        if overflows(v, precision, scale):
            self.error(table, ident, column, text, target,
                       "%s does not fit numeric(%d,%d)"
                       % (v, precision, scale))
        return v

    def contacts(self, bid):
        parts = []
        for c in self.S.contact_by_b.get(bid, []):
            civ = self.S.vps.get(c.civilite_id)
            if civ is None:
                continue
            if civ.libelle is None or c.prenom is None or c.nom is None:
                continue
            parts.append("%s %s %s" % (civ.libelle, c.prenom, c.nom))
        if not parts:
            return None
        return ", ".join(parts)[:255]

    # -- main loop
    def run(self, deps):
        for dep in deps:
            self.dep = dep
            for h in self.H:
                if h.departement == dep:
                    self.process(h)

    def joined(self, h):
        """Inner joins of the convention, lot and programme queries
        (2.5 notation): the row is not produced when one is missing."""
        S = self.S
        g = S.cdg.get(h.cdg)
        pl = S.pl.get(h.programme_ids[0])
        if g is None or pl is None or h.capl not in S.capl:
            return False
        com = S.commune.get(pl.commune_id)
        dep = S.dep.get(com.departement_id) if com else None
        tf = S.tf.get(pl.typefinancement_id)
        return (S.vps.get(g.etatconvention_id) is not None and
                S.nl.get(g.naturelogement_id) is not None and
                com is not None and dep is not None and
                S.region.get(dep.region_id) is not None and
                tf is not None and
                S.ff.get(tf.famillefinancement_id) is not None)

    def process(self, h):
        if not self.joined(h):
            self.warnings.append("convention %s: a joined source row is "
                                 "missing, not produced" % h.id)
            return
        prog_key = "%d:%d" % (h.capl, h.numero)
        if not self.import_programme(prog_key):
            self.warnings.append("convention %s skipped: no programme" % h.id)
            return
        hp = self.hmap.get(h.parent_id) if h.parent_id else None
        self.convention(h, hp, prog_key)
        self.lot(h, hp)
        self.logements(h)
        self.repartitions(h)
        self.pieces_jointes(h)
        if h.numero == 0:
            self.evenements(h)
        if hp is not None and self.has(M_CONV, hp.id):
            self.links.add(h.id)

    # -- Bailleur (2.5.4)
    def bailleur_row(self, b):
        S = self.S
        snb = S.snb.get(b.sousnaturebailleur_id)
        if snb is None:
            return None
        ab = S.abail.get(b.adresse_id)
        anah = b.raisonsociale == "ANAH"
        siret_t, siren_t, pers_t = (present(b.codesiret), present(b.codesiren),
                                    present(b.codepersonne))
        siret = None
        if anah:
            siret = "X" * 14
        if siret is None and snb.code == "611":
            siret = first(pers_t, siret_t, siren_t)
        if siret is None:
            siret = first(siret_t, siren_t, pers_t)
        if siret is None and b.raisonsociale is not None:
            siret = re.sub(r"[^a-zA-Z0-9]+", "", b.raisonsociale).upper()[:14]
        siret = nn(siret)
        if siren_t is not None:
            siren = siren_t
        elif siret_t is not None and DIGITS14.match(siret_t):
            siren = siret_t[:9]
        else:
            siren = None
        if anah:
            sous = "ANAH"
        else:
            sous = SNB_MAP.get(snb.code, "NONRENSEIGNE")
        nature = NATURE_OF_SOUS.get(sous, AUTRES)
        row = {
            "parent_id": None,
            "nom": nn("Personne(s) physique(s)" if anah else b.raisonsociale),
            "siret": siret,
            "siren": siren,  # identity value; signal applied on insert
            "capital_social": None,
            "adresse": cat4(ab.ligne1, ab.ligne2, ab.ligne3, ab.ligne4)
            if ab else None,
            "code_postal": ab.codepostal if ab else None,
            "ville": ab.ville if ab else None,
            "signataire_nom": self.contacts(b.id),
            "signataire_fonction": None,
            "signataire_date_deliberation": None,
            "signataire_bloc_signature": None,
            "operation_exceptionnelle": None,
            "nature_bailleur": nature,
            "sous_nature_bailleur": sous,
            "cree_le": INSERTION, "mis_a_jour_le": INSERTION,
        }
        return row

    def import_bailleur(self, bid):
        key = str(bid)
        if self.has(M_BAIL, key):
            return key
        b = self.S.bailleur.get(bid)
        row = self.bailleur_row(b) if b else None
        if row is None:
            return None
        alt = dict(row)
        if alt["siren"] in (None, ""):
            alt["siren"] = alt["siret"][:9] if DIGITS14.match(alt["siret"]) \
                else alt["siret"]
        self.alt[M_BAIL][key] = alt
        created = self.rows[M_BAIL]
        match = None
        if row["siren"] not in (None, ""):
            match = next((k for k, r in created.items()
                          if r["siren"] == row["siren"]), None)
        if match is None:
            match = next((k for k, r in created.items()
                          if r["siret"] == row["siret"]), None)
            if match is not None:
                self.warnings.append("bailleur %s linked by siret to %s"
                                     % (key, match))
        if match is not None:
            self.add(M_BAIL, key, None, target=match)
            return key
        if row["siren"] in (None, ""):
            s = row["siret"]
            row["siren"] = s[:9] if DIGITS14.match(s) else s
        self.add(M_BAIL, key, row)
        return key

    # -- Administration (2.5.5)
    def import_administration(self, eid):
        key = str(eid)
        if self.has(M_ADM, key):
            return key
        eg = self.S.eg.get(eid)
        if eg is None:
            return None
        ega = self.S.ega.get(eg.adresse_id)
        if eg.nom is None:
            nom = eg.code
        elif eg.code is None:
            nom = None
        else:
            nom = "%s (%s)" % (eg.nom, eg.code)
        row = {
            "nom": nn(nom), "code": nn(eg.code), "code_dans_galion": None,
            "ville_signature": ega.ville if ega else None,
            "adresse": cat4(ega.ligne1, ega.ligne2, ega.ligne3, ega.ligne4)
            if ega else None,
            "code_postal": ega.codepostal if ega else None,
            "ville": ega.ville if ega else None,
            "nb_convention_exemplaires": 3,
            "prefix_convention": "{département}/{zone}/{mois}/{année}/80.416/",
            "signataire_bloc_signature": None,
            "cree_le": INSERTION, "mis_a_jour_le": INSERTION,
        }
        self.alt[M_ADM][key] = row
        if row["code"] != "":
            match = next((k for k, r in self.rows[M_ADM].items()
                          if r["code"] == row["code"]), None)
            if match is not None:
                self.add(M_ADM, key, None, target=match)
                return key
        self.add(M_ADM, key, row)
        return key

    # -- Programme (2.5.3) and ReferenceCadastrale (2.5.9)
    def import_programme(self, key):
        if self.has(M_PROG, key):
            return True
        S = self.S
        hs = self.hs_by_prog[key]
        pl = S.pl[hs.programme_ids[0]]
        g = S.cdg[hs.cdg]
        c = S.capl[hs.capl]
        com = S.commune.get(pl.commune_id)
        dep = S.dep.get(com.departement_id) if com else None
        reg = S.region.get(dep.region_id) if dep else None
        nl = S.nl.get(g.naturelogement_id)
        if nl is None or com is None or dep is None or reg is None:
            return False
        nop = S.vps.get(pl.natureoperation_id)
        pas = S.padr_by_pl.get(pl.id, [])
        pa = pas[0] if pas else Row()
        cps = S.cp_by_insee.get(com.code, [])
        cp = cps[0] if cps else Row()
        bkey = self.import_bailleur(pl.bailleurproprietaire_id)
        if bkey is None:
            return False
        akey = self.import_administration(c.entitecreatrice_id)
        hp = self.hmap.get(hs.parent_id) if hs.parent_id else None
        parent = None
        if hp is not None:
            pk = "%d:%d" % (hp.capl, hp.numero)
            if self.has(M_PROG, pk):
                parent = Ref(M_PROG, pk)
        n = first(pl.logementsnombretotal,
                  (pl.logementsnombreindtotal or 0) +
                  (pl.logementsnombrecoltotal or 0))
        if pl.description is not None and pl.description != "":
            nom = pl.description
        elif pa.ligne1 not in (None, ""):
            nom = "%s - %s - %s" % (pa.ligne1, n, hs.fin)
        elif pa.ligne2 not in (None, ""):
            nom = "%s - %s - %s" % (pa.ligne2, n, hs.fin)
        elif pa.ligne3 not in (None, ""):
            nom = "%s - %s - %s" % (pa.ligne3, n, hs.fin)
        elif com.libelle is not None:
            nom = "%s - %s - %s" % (com.libelle, n, hs.fin)
        else:
            nom = None
        if nl.code == "1":
            nature = "LOGEMENTSORDINAIRES"
        elif nl.code == "6":
            nature = "RESISDENCESOCIALE"
        else:
            nature = "AUTRE"
        numop = nn(pl.financementreferencedossier)
        date_ach = g.datehistoriquedebut
        date_prev = pl.datemiseservice
        row = {
            "parent_id": parent,
            "nom": nn(nom),
            "numero_operation": numop,
            "numero_operation_pour_recherche": strip_search(numop),
            "seconde_vie": False,
            "bailleur_id": Ref(M_BAIL, bkey),
            "administration_id": Ref(M_ADM, akey) if akey else None,
            "adresse": nn(cat4(pa.ligne1, pa.ligne2, pa.ligne3, pa.ligne4)),
            "code_postal": nn(first(cp.codepostal, pa.codepostal, com.code)),
            "ville": nn(com.libelle),
            "code_insee_commune": nn(com.code),
            "code_insee_departement": nn(dep.codeinsee),
            "code_insee_region": nn(reg.codeinsee),
            "annee_gestion_programmation": None,
            "zone_123": None, "zone_abc": None,
            "surface_utile_totale": self.numeric(
                "ecolo_programmelogement", pl.id, "surfaceutile",
                pl.surfaceutile, 10, 2,
                "programmes_programme.surface_utile_totale"),
            "surface_corrigee_totale": self.numeric(
                "ecolo_programmelogement", pl.id, "surfacecorrigee",
                pl.surfacecorrigee, 10, 2,
                "programmes_programme.surface_corrigee_totale"),
            "type_operation": TYPE_OPERATION.get(nop.libelle if nop else None,
                                                 "SANSOBJET"),
            "nature_logement": nature,
            "anru": False, "anah": False,
            "nb_locaux_commerciaux": None, "nb_bureaux": None,
            "date_acte_notarie": None,
            "date_achevement_previsible": date_prev,
            "date_achat": pl.financementdate,
            "date_achevement": date_ach,
            "date_autorisation_hors_habitat_inclusif": None,
            "date_convention_location": None,
            "date_residence_argement_gestionnaire_intermediation": None,
            "date_achevement_compile": first(date_ach, date_prev),
            "cree_le": INSERTION, "mis_a_jour_le": INSERTION,
            "reassign_command_old_admin_backup": None,
        }
        for col in ("autres_locaux_hors_convention", "vendeur", "acquereur",
                    "reference_notaire", "reference_publication_acte",
                    "acte_de_propriete", "effet_relatif",
                    "certificat_adressage", "reference_cadastrale",
                    "edd_volumetrique",
                    "mention_publication_edd_volumetrique", "edd_classique",
                    "mention_publication_edd_classique",
                    "edd_stationnements", "permis_construire",
                    "departement_residence_argement_gestionnaire_intermediation",
                    "ville_signature_residence_agrement_gestionnaire_intermediation"):
            row[col] = ""
        self.add(M_PROG, key, row)
        # children: références cadastrales of pl1(hs)
        for ic in S.ic_by_pl.get(pl.id, []):
            ckey = str(ic.id)
            if self.has(M_CAD, ckey):
                continue
            pieces = [p for p in re.split(r"[^0-9]+", ic.parcelle or "") if p]
            if not pieces:
                self.warnings.append("cadastre %s: no digit in parcelle" % ckey)
                continue
            self.add(M_CAD, ckey, {
                "programme_id": Ref(M_PROG, key),
                "section": nn(ic.section),
                "numero": pieces[0].lstrip("0") or "0",
                "lieudit": nn(pl.description),
                "surface": surface_text(ic.superficie),
                "autre": "",
                "cree_le": INSERTION, "mis_a_jour_le": INSERTION,
            })
        return True

    # -- Convention (2.5.1)
    def convention(self, h, hp, prog_key):
        S = self.S
        c = S.capl[h.capl]
        g = S.cdg[h.cdg]
        a = S.avenant.get(h.avenant_id) if h.avenant_id else None
        a = a or Row()
        pl = S.pl[h.programme_ids[0]]
        nl = S.nl[g.naturelogement_id]
        etat = S.vps[g.etatconvention_id]
        nop = S.vps.get(pl.natureoperation_id)
        code = nl.code
        if etat.code in ("ANS", "ANI"):
            statut = "8. Annulée en suivi"
        elif etat.code == "DEN":
            statut = "7. Dénoncée"
        elif etat.code == "RES":
            statut = "6. Résiliée"
        elif etat.code == "INS" and first(
                a.datesignatureprefet, g.datesignatureprefet,
                g.datesignatureentitegest) is None:
            statut = "2. Instruction requise"
        else:
            statut = "5. Signée"
        numero = str(h.numero) if h.is_avenant else c.noreglementaire
        bg = S.bailleur.get(pl.bailleurgestionnaire_id)
        gest = None
        if bg is not None:
            code_bg = first(bg.codesiret, bg.codepersonne)
            if bg.raisonsociale is not None and code_bg is not None:
                gest = "%s( %s)" % (bg.raisonsociale, code_bg)
        valide = first(a.datesignatureprefet, g.datesignatureprefet,
                       g.datesignatureentitegest, c.datedepot,
                       g.datehistoriquedebut)
        foyer = code in ("2", "3", "4", "5", "7")
        nopc = nop.code if nop else None
        v2 = code != "1" and nopc == "5"
        parent = Ref(M_CONV, hp.id) if hp is not None and \
            self.has(M_CONV, hp.id) else None
        row = {
            "parent_id": parent,
            "numero": numero,
            "numero_pour_recherche": strip_search(numero),
            "programme_id": Ref(M_PROG, prog_key),
            "date_fin_conventionnement": g.datehistoriquefin,
            "fond_propre": None, "commentaires": None, "attached": None,
            "statut": statut,
            "soumis_le": midnight_paris(c.datedepot),
            "premiere_soumission_le": midnight_paris(first(
                c.datesaisie, c.datedepot, a.datesignatureprefet)),
            "valide_le": valide,
            "cree_par_id": None,
            "cree_le": INSERTION, "mis_a_jour_le": INSERTION,
            "type1and2": None,
            "signataire_nom": None, "signataire_fonction": None,
            "signataire_date_deliberation": None,
            "signataire_bloc_signature": None,
            "date_publication_spf": g.datepublication,
            "reference_spf": g.referencepublication,
            "date_envoi_spf": g.datepublication,
            "date_refus_spf": g.daterefushypotheque,
            "motif_refus_spf": g.motifrefushypotheque,
            "gestionnaire": gest,
            "gestionnaire_signataire_nom":
                self.contacts(bg.id) if bg is not None else None,
            "gestionnaire_signataire_fonction": None,
            "gestionnaire_signataire_date_deliberation": None,
            "gestionnaire_signataire_bloc_signature": None,
            "gestionnaire_bloc_info_complementaire": None,
            "donnees_validees": None,
            "nom_fichier_signe": None,
            "nom_fichier_publication_spf": None,
            "televersement_convention_signee_le": valide,
            "desc_avenant": None,
            "historique_financement_public": None,
            "attribution_agees_autonomie": code == "2",
            "attribution_agees_ephad": code == "2",
            "attribution_agees_desorientees": code == "2",
            "attribution_agees_petite_unite": code == "2",
            "attribution_agees_autre": code == "2",
            "attribution_agees_autre_detail": NRS if code == "2" else None,
            "attribution_handicapes_foyer": code == "3",
            "attribution_handicapes_foyer_de_vie": code == "3",
            "attribution_handicapes_foyer_medicalise": code == "3",
            "attribution_handicapes_autre": code == "3",
            "attribution_handicapes_autre_detail": NRS if code == "3" else None,
            "attribution_inclusif_conditions_specifiques":
                NRS if code == "7" else None,
            "attribution_inclusif_conditions_admission":
                NRS if code == "7" else None,
            "attribution_inclusif_modalites_attribution":
                NRS if code == "7" else None,
            "attribution_inclusif_partenariats": NRS if code == "7" else None,
            "attribution_inclusif_activites": NRS if code == "7" else None,
            "attribution_reservation_prefectorale":
                pl.reservationprefnombre if foyer else None,
            "attribution_modalites_reservations": NRS if foyer else None,
            "attribution_modalites_choix_personnes": NRS if foyer else None,
            "attribution_prestations_integrees": NRS if foyer else None,
            "attribution_prestations_facultatives": NRS if foyer else None,
            "foyer_residence_variante_1": code != "1" and nopc == "80",
            "foyer_residence_variante_2": v2,
            "foyer_residence_variante_2_travaux": NRS if v2 else None,
            "foyer_residence_variante_2_nb_annees": None,
            "foyer_residence_variante_2_nb_tranches": None,
            "foyer_residence_variante_3": code != "1" and nopc == "1",
            "attribution_residence_sociale_ordinaire":
                code in ("4", "5", "6"),
            "attribution_pension_de_famille": code == "6",
            "attribution_residence_accueil": code == "6",
            "champ_libre_avenant": None,
            "date_denonciation": None, "motif_denonciation": None,
            "fichier_instruction_denonciation": None,
            "date_resiliation": g.dateresiliationprefet,
            "motif_resiliation": None,
            "fichier_instruction_resiliation": None,
            "adresse": None, "fichier_override_cerfa": None,
            "identification_bailleur": False,
            "identification_bailleur_detail": None,
        }
        for i in range(1, 9):
            row["type2_lgts_concernes_option%d" % i] = True
        self.add(M_CONV, h.id, row)

    # -- Lot (2.5.2)
    def lot(self, h, hp):
        S = self.S
        g = S.cdg[h.cdg]
        pl = S.pl[h.programme_ids[0]]
        nl = S.nl[g.naturelogement_id]
        nb = 0
        for pid in h.programme_ids:
            p = S.pl[pid]
            nb += first(p.logementsnombretotal,
                        (p.logementsnombreindtotal or 0) +
                        (p.logementsnombrecoltotal or 0))
        ind = pl.logementsnombreindtotal or 0
        col = pl.logementsnombrecoltotal or 0
        if ind > 0 and col > 0:
            th = "MIXTE"
        elif ind > 0:
            th = "INDIVIDUEL"
        else:
            th = "COLLECTIF"
        tan = []
        for an in S.annexe_by_pl.get(pl.id, []):
            t = S.vps.get(an.typeannexe_id)
            if t is not None and t.subtype == "TAN":
                tan.append((t.code, an))
        codes = {c for c, _ in tan}
        lder = None
        if pl.estderogationloyer is True:
            src, txt = None, None
            if ind > 0:
                src, txt = "montantplafondloyerindinitial", \
                    pl.montantplafondloyerindinitial
            elif col > 0:
                src, txt = "montantplafondloyercolinitial", \
                    pl.montantplafondloyercolinitial
            if src is not None and txt is not None:
                lder = to_scale(txt, 2)
                if overflows(lder, 6, 2):
                    self.error("ecolo_programmelogement", pl.id, src, txt,
                               "programmes_lot.loyer_derogatoire",
                               "%s does not fit numeric(6,2)" % lder)
        if nl.code == "1":
            garage = None
        else:
            parkings = [an for c, an in tan if c == "2"]
            garage = parkings[0].nombre if parkings else None
        sht = r2s(pl.surfacehabitable)
        if overflows(sht, 12, 2):
            self.error("ecolo_programmelogement", pl.id, "surfacehabitable",
                       pl.surfacehabitable,
                       "programmes_lot.surface_habitable_totale",
                       "%s does not fit numeric(12,2)" % sht)
        parent = Ref(M_LOT, hp.id) if hp is not None and \
            self.has(M_LOT, hp.id) else None
        row = {
            "parent_id": parent,
            "nb_logements": nb,
            "convention_id": Ref(M_CONV, h.id),
            "financement": h.fin,
            "type_habitat": th,
            "edd_volumetrique": "", "edd_classique": "",
            "annexe_caves": "7" in codes,
            "annexe_soussols": False,
            "annexe_remises": "8" in codes,
            "annexe_ateliers": False, "annexe_sechoirs": False,
            "annexe_celliers": False, "annexe_resserres": False,
            "annexe_combles": False, "annexe_balcons": False,
            "annexe_loggias": False,
            "annexe_terrasses": "5" in codes,
            "lgts_mixite_sociale_negocies": 0,
            "loyer_derogatoire": lder,
            "surface_habitable_totale": sht,
            "surface_locaux_collectifs_residentiels": Decimal(0),
            "foyer_residence_nb_garage_parking": garage,
            "foyer_residence_dependance": None,
            "foyer_residence_locaux_hors_convention": None,
            "loyer_associations_foncieres": None,
            "cree_le": INSERTION, "mis_a_jour_le": INSERTION,
        }
        self.add(M_LOT, h.id, row)

    # -- Logement (2.5.6, B4)
    def logements(self, h):
        S = self.S
        for pid in h.programme_ids:
            p = S.pl[pid]
            for lg in S.logement_by_pl.get(pid, []):
                key = str(lg.id)
                if self.has(M_LOG, key):
                    continue
                t = S.vps.get(lg.typelogement_id)
                if t is None:
                    continue

                def surf(col, target):
                    v = r2s(lg[col])
                    if overflows(v, 12, 2):
                        self.error("ecolo_logement", lg.id, col, lg[col],
                                   "programmes_logement." + target,
                                   "%s does not fit numeric(12,2)" % v)
                    return v

                row = {
                    "designation": nn(cat4(lg.numerobatiment, lg.noescalier,
                                           lg.etage, lg.numerologement)),
                    "lot_id": Ref(M_LOT, h.id),
                    "typologie": typologie(t.code),
                    "surface_habitable": surf("surfacehabitable",
                                              "surface_habitable"),
                    "surface_corrigee": surf("surfacecorrigee",
                                             "surface_corrigee"),
                    "surface_annexes": surf("surfaceannexe",
                                            "surface_annexes"),
                    "surface_annexes_retenue": surf(
                        "surfaceannexe", "surface_annexes_retenue"),
                    "surface_utile": surf("surfaceutile", "surface_utile"),
                    "loyer_par_metre_carre": self.numeric(
                        "ecolo_programmelogement", pid,
                        "montantplafondloyerindinitial",
                        p.montantplafondloyerindinitial, 12, 2,
                        "programmes_logement.loyer_par_metre_carre",
                        r2p(p.montantplafondloyerindinitial)),
                    "coeficient": self.numeric(
                        "ecolo_logement", lg.id, "coefficientmodulation",
                        lg.coefficientmodulation, 12, 4,
                        "programmes_logement.coeficient"),
                    "loyer": self.numeric(
                        "ecolo_logement", lg.id, "montantloyer",
                        lg.montantloyer, 12, 2, "programmes_logement.loyer",
                        r2p(lg.montantloyer)),
                    "cree_le": INSERTION, "mis_a_jour_le": INSERTION,
                    "import_order": None,
                }
                self.add(M_LOG, key, row)

    # -- RepartitionSurface (2.5.8, B10, C1)
    def repartitions(self, h):
        S = self.S
        pl1 = h.programme_ids[0]
        sums = {}
        for il in S.il_by_pl.get(pl1, []):
            t = S.vps.get(il.typelogement_id)
            if t is None:
                continue
            typo = typologie(t.code)
            for th, n in (("INDIVIDUEL", il.nblogtind),
                          ("COLLECTIF", il.nblogtcol)):
                if n is not None and n > 0:
                    sums[(typo, th)] = sums.get((typo, th), 0) + n
        for (typo, th), n in sums.items():
            key = "%d:%s:%s" % (pl1, typo, th)
            if self.has(M_REP, key):
                continue
            if n > 2147483647:
                self.error("ecolo_infostypelogement", pl1, "nblogtind/col",
                           str(n), "programmes_repartitionsurface.quantite",
                           "%d does not fit integer" % n)
            self.add(M_REP, key, {"lot_id": Ref(M_LOT, h.id),
                                  "typologie": typo, "type_habitat": th,
                                  "quantite": n})

    # -- PieceJointe (2.5.10)
    def pieces_jointes(self, h):
        S = self.S
        for pj in S.pj_by_capl.get(h.capl, []):
            t = S.vps.get(pj.typepiecejointe_id)
            if t is None or t.subtype != "TPJ":
                continue
            if pj.fichier is None or pj.ext is None:
                continue
            fichier = "%d/%d/%d.%s" % (pj.entitegest_id, pj.conventionapl_id,
                                       pj.id, pj.ext)
            if len(fichier) > 50:
                self.warnings.append("pj %d: fichier too long" % pj.id)
                continue
            key = "%s-%d" % (h.id, pj.id)
            self.add(M_PJ, key, {
                "convention_id": Ref(M_CONV, h.id),
                "type": PJ_TYPES.get(t.code, "AUTRE"),
                "fichier": fichier,
                "nom_reel": pj.fichier,
                "description": pj.description,
                "cree_le": midnight_paris(pj.date) if pj.date else INSERTION,
            })

    # -- Evenement (2.5.11)
    def evenements(self, h):
        S = self.S
        for ev in S.ev_by_capl.get(h.capl, []):
            t = S.vps.get(ev.typeevenement_id)
            if t is None or t.estgeneresysteme is not False:
                continue
            key = str(ev.id)
            if self.has(M_EV, key):
                continue
            te = EV_TYPES.get(t.code)
            if te is None:
                self.warnings.append("evenement %s: unknown type code %r"
                                     % (key, t.code))
                continue
            self.add(M_EV, key, {
                "convention_id": Ref(M_CONV, h.id),
                "type_evenement": te,
                "survenu_le": ev.date if ev.date is not None else TODAY,
                "description": ev.description,
                "pieces_jointes": "",
            })


# --------------------------------------------------------------------------
# target
# --------------------------------------------------------------------------

ENTITIES = [
    # name, model, table, {fk column: model}
    ("Convention", M_CONV, "conventions_convention",
     {"parent_id": M_CONV, "programme_id": M_PROG}),
    ("Lot", M_LOT, "programmes_lot",
     {"parent_id": M_LOT, "convention_id": M_CONV}),
    ("Programme", M_PROG, "programmes_programme",
     {"parent_id": M_PROG, "bailleur_id": M_BAIL,
      "administration_id": M_ADM}),
    ("Bailleur", M_BAIL, "bailleurs_bailleur", {"parent_id": M_BAIL}),
    ("Administration", M_ADM, "instructeurs_administration", {}),
    ("Logement", M_LOG, "programmes_logement", {"lot_id": M_LOT}),
    ("RepartitionSurface", M_REP, "programmes_repartitionsurface",
     {"lot_id": M_LOT}),
    ("ReferenceCadastrale", M_CAD, "programmes_referencecadastrale",
     {"programme_id": M_PROG}),
    ("PieceJointe", M_PJ, "conventions_piecejointe",
     {"convention_id": M_CONV}),
    ("Evenement", M_EV, "conventions_evenement", {"convention_id": M_CONV}),
    ("TypeStationnement", M_TS, "programmes_typestationnement",
     {"lot_id": M_LOT}),
]
IGNORED_COLS = {"id", "uuid", "search_vector"}
AUTO_NOW = {"cree_le", "mis_a_jour_le"}


def parse_value(text, dtype):
    if text is None:
        return None
    if dtype in ("integer", "bigint", "smallint"):
        return int(text)
    if dtype == "numeric":
        return Decimal(text)
    if dtype == "boolean":
        return text == "t"
    if dtype == "date":
        return dt.date.fromisoformat(text)
    if dtype == "timestamp with time zone":
        return parse_ts(text)
    if dtype in ("double precision", "real"):
        return float(text)
    return text


def parse_ts(text):
    t = text.replace(" ", "T", 1)
    m = re.match(r"(.*?)([+-]\d\d)(:?\d\d)?(:?\d\d)?$", t)
    if m and m.group(3) is None:
        t = m.group(1) + m.group(2) + ":00"
    return dt.datetime.fromisoformat(t).astimezone(UTC)


class Target:
    def __init__(self, url):
        self.url = url
        self.types = defaultdict(dict)
        self.columns = defaultdict(list)
        for r in psql(url, "SELECT table_name, column_name, data_type "
                           "FROM information_schema.columns "
                           "WHERE table_schema = current_schema() "
                           "ORDER BY table_name, ordinal_position"):
            self.types[r["table_name"]][r["column_name"]] = r["data_type"]
            self.columns[r["table_name"]].append(r["column_name"])
        self.tables = {}
        for _, _, table, _ in ENTITIES:
            self.tables[table] = self.read(table)
        self.refs = self.read("ecoloweb_ecoloreference")
        self.links = self.read("conventions_convention_avenant_types")
        self.avenanttypes = self.read("conventions_avenanttype")
        self.now = parse_ts(psql(url, "SELECT now() AS n")[0]["n"])

    def read(self, table):
        if table not in self.types:
            raise DbError("target table %s does not exist" % table)
        out = {}
        cols = ", ".join('"%s"' % c for c in self.columns[table]
                         if c != "search_vector")
        for r in psql(self.url, 'SELECT %s FROM "%s"' % (cols, table)):
            row = {k: parse_value(v, self.types[table][k])
                   for k, v in r.items()}
            out[row["id"]] = row
        return out


# --------------------------------------------------------------------------
# comparison
# --------------------------------------------------------------------------

def fmt(v):
    if v is None:
        return "NULL"
    if isinstance(v, frozenset):
        return "<%s>" % ",".join(sorted(v))
    if isinstance(v, dt.datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%fZ")
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v)
    return str(v)


class Checker:
    def __init__(self, args, S, E, T):
        self.args, self.S, self.E, self.T = args, S, E, T
        self.deps = args.departement
        self.passed = 0
        self.failed = 0
        self.run_start = parse_ts(args.run_start) if args.run_start else None
        today = dt.datetime.now(PARIS).date()
        self.todays = {today, today - dt.timedelta(days=1)}
        self.run_dates = {dt.date.fromisoformat(d) for d in
                          (args.run_date or "").split(",") if d}
        self.todays |= self.run_dates
        # reference index
        self.key_of = defaultdict(set)     # (model, apilos_id) -> {keys}
        self.ref_by_key = {}
        for r in T.refs.values():
            self.key_of[(r["apilos_model"], r["apilos_id"])].add(r["ecolo_id"])
            self.ref_by_key[(r["apilos_model"], r["ecolo_id"])] = r
        exp_keys = set(E.refs)
        self.in_scope = [r for r in T.refs.values()
                         if r["departement"] in self.deps or
                         (r["apilos_model"], r["ecolo_id"]) in exp_keys]

    def report(self, name, n_exp, n_act, diffs):
        print("%s: expected %d, actual %d, mismatches %d"
              % (name, n_exp, n_act, len(diffs)))
        for d in diffs[:MAX_DIFFS]:
            print("  %s %s" % (name, d))
        if len(diffs) > MAX_DIFFS:
            print("  ... %d more" % (len(diffs) - MAX_DIFFS))
        if diffs or n_exp != n_act:
            self.failed += 1
        else:
            self.passed += 1

    def translate(self, model, apilos_id):
        if apilos_id is None:
            return None
        keys = self.key_of.get((model, apilos_id))
        if not keys:
            return "<unreferenced %s id %d>" % (model.split(".")[1], apilos_id)
        return frozenset(keys)

    def check_time(self, v):
        if not isinstance(v, dt.datetime):
            return "not a timestamp"
        if self.run_start and v < self.run_start - dt.timedelta(seconds=1):
            return "older than the run start %s" % fmt(self.run_start)
        if v > self.T.now + dt.timedelta(seconds=5):
            return "in the future"
        return None

    def match(self, exp, act):
        if isinstance(exp, Ref):
            return isinstance(act, frozenset) and exp.key in act
        if exp is INSERTION:
            return self.check_time(act) is None
        if exp is TODAY:
            return act in self.todays
        if isinstance(exp, bool) or isinstance(act, bool):
            return type(exp) is type(act) and exp == act
        if isinstance(exp, Decimal) and isinstance(act, (Decimal, int)):
            return Decimal(act) == exp
        if isinstance(exp, int) and isinstance(act, Decimal):
            return Decimal(exp) == act
        return type(exp) is type(act) and exp == act or \
            (exp is None and act is None)

    def compare_rows(self, name, table, fks, exp, act, diffs):
        """exp, act: key -> row.  Row values of act are raw target values."""
        cols = [c for c in self.T.columns[table] if c not in IGNORED_COLS]
        for key in sorted(set(exp) | set(act), key=natural):
            if key not in act:
                diffs.append("%s row: expected present, actual missing" % key)
                continue
            if key not in exp:
                diffs.append("%s row: expected absent, actual present" % key)
                continue
            e, a = exp[key], act[key]
            for col in cols:
                if col not in e:
                    diffs.append("%s %s: expected <not covered by the oracle>"
                                 ", actual %s" % (key, col, fmt(a.get(col))))
                    continue
                av = a.get(col)
                if col in fks:
                    av = self.translate(fks[col], av)
                if not self.match(e[col], av):
                    why = ""
                    if e[col] is INSERTION:
                        why = " (%s)" % self.check_time(av)
                    diffs.append("%s %s: expected %s, actual %s%s"
                                 % (key, col, fmt(e[col]), fmt(av), why))
            for col in e:
                if col not in cols and col not in IGNORED_COLS and \
                        not col.startswith("__"):
                    diffs.append("%s %s: expected %s, actual <no such column>"
                                 % (key, col, fmt(e[col])))
            if "cree_le" in e and e.get("cree_le") is INSERTION and \
                    e.get("mis_a_jour_le") is INSERTION:
                c1, c2 = a.get("cree_le"), a.get("mis_a_jour_le")
                if isinstance(c1, dt.datetime) and isinstance(c2, dt.datetime):
                    if abs((c2 - c1).total_seconds()) > 60 or c2 < c1 - \
                            dt.timedelta(seconds=1):
                        diffs.append("%s cree_le/mis_a_jour_le: expected the "
                                     "same insertion time, actual %s / %s"
                                     % (key, fmt(c1), fmt(c2)))

    def check_uuids(self, table, diffs):
        seen = {}
        for r in self.T.tables[table].values():
            u = r.get("uuid")
            try:
                uo = uuidmod.UUID(u)
                ok = uo.version == 4 and uo.variant == uuidmod.RFC_4122
            except (TypeError, ValueError):
                ok = False
            if not ok:
                diffs.append("id %s uuid: expected a v4 uuid, actual %s"
                             % (r["id"], fmt(u)))
            if u in seen:
                diffs.append("id %s uuid: expected unique, actual same as "
                             "id %s" % (r["id"], seen[u]))
            seen[u] = r["id"]

    def check_entity(self, name, model, table, fks):
        E, T = self.E, self.T
        rows = T.tables[table]
        diffs = []
        self.check_uuids(table, diffs)
        refs = [r for r in self.in_scope if r["apilos_model"] == model]
        all_refs_model = {r["apilos_id"] for r in T.refs.values()
                          if r["apilos_model"] == model}
        for rid in rows:
            if rid not in all_refs_model:
                diffs.append("id %d row: expected a reference, actual none"
                             % rid)
        by_row = defaultdict(list)
        for r in refs:
            if r["apilos_id"] not in rows:
                diffs.append("%s reference: expected a target row, actual "
                             "dangling apilos_id %d" % (r["ecolo_id"],
                                                        r["apilos_id"]))
                continue
            by_row[r["apilos_id"]].append(r["ecolo_id"])
        exp = E.rows.get(model, {})
        act = {}
        n_act = len(by_row) + sum(1 for rid in rows
                                  if rid not in all_refs_model)
        if model in SHARED:
            # expected groups: creator key -> all keys pointing to its row
            groups = defaultdict(set)
            for (m, k), ref in E.refs.items():
                if m == model:
                    groups[ref.target].add(k)
            exp = dict(exp)
            for key, row in exp.items():
                exp[key] = dict(row, __keys=frozenset(groups[key]))
            for rid, keys in by_row.items():
                creators = [k for k in keys if k in exp]
                k = creators[0] if len(creators) == 1 else min(keys, key=natural)
                if len(creators) > 1:
                    diffs.append("%s row: expected distinct rows for %s, "
                                 "actual one row" % (k, ",".join(creators)))
                act[k] = dict(rows[rid], __keys=frozenset(keys))
            cols_extra = ["__keys"]
        else:
            for rid, keys in by_row.items():
                if len(keys) > 1:
                    diffs.append("%s row: expected one reference, actual %d "
                                 "(%s)" % (keys[0], len(keys), ",".join(keys)))
                for k in keys:
                    act[k] = rows[rid]
            cols_extra = []
        if model in SHARED and self.args.concurrent:
            # the identity group's row may have been created by any of its
            # Ecolo keys (lock winner, C6); group membership not checked
            for k in sorted(set(exp) | set(act), key=natural):
                if k not in act or k not in exp:
                    self.compare_rows(name, table, fks, {k: exp[k]} if k in
                                      exp else {}, {k: act[k]} if k in act
                                      else {}, diffs)
                    continue
                best = None
                for cand in [k] + sorted(act[k]["__keys"] - {k}, key=natural):
                    row = exp[k] if cand == k else E.alt[model].get(cand)
                    if row is None:
                        continue
                    d = []
                    self.compare_rows(name, table, fks, {k: row},
                                      {k: act[k]}, d)
                    if best is None or len(d) < len(best):
                        best = d
                    if not d:
                        break
                diffs.extend(best or [])
            cols_extra = []
        else:
            self.compare_rows(name, table, fks, exp, act, diffs)
        for key in sorted(set(exp) & set(act), key=natural):
            for c in cols_extra:
                if exp[key][c] != act[key][c]:
                    diffs.append("%s references: expected %s, actual %s"
                                 % (key, fmt(exp[key][c]), fmt(act[key][c])))
        self.report(name, len(exp), n_act, diffs)

    def check_links(self):
        T, E = self.T, self.E
        diffs = []
        at = [r["id"] for r in T.avenanttypes.values()
              if r["nom"] == "commentaires"]
        at_id = at[0] if at else None
        act = set()
        scope_conv = {r["apilos_id"] for r in self.in_scope
                      if r["apilos_model"] == M_CONV}
        for r in T.links.values():
            if r["convention_id"] not in scope_conv:
                continue
            keys = self.translate(M_CONV, r["convention_id"])
            k = min(keys, key=natural) if isinstance(keys, frozenset) \
                else str(keys)
            if r["avenanttype_id"] != at_id:
                diffs.append("%s avenanttype_id: expected commentaires (%s), "
                             "actual %s" % (k, at_id, r["avenanttype_id"]))
                continue
            act.add(k)
        for k in sorted(E.links - act, key=natural):
            diffs.append("%s link: expected present, actual missing" % k)
        for k in sorted(act - E.links, key=natural):
            diffs.append("%s link: expected absent, actual present" % k)
        self.report("AvenantTypeLink", len(E.links), len(act), diffs)

    def check_references(self):
        E = self.E
        diffs = []
        run_dates = self.run_dates
        seen_dates = set()
        act = {(r["apilos_model"], r["ecolo_id"]): r for r in self.in_scope}
        for mk in sorted(set(E.refs) | set(act),
                         key=lambda mk: (mk[0], natural(mk[1]))):
            label = "%s:%s" % mk
            if mk not in act:
                diffs.append("%s reference: expected present, actual missing"
                             % label)
                continue
            r = act[mk]
            if mk not in E.refs:
                diffs.append("%s reference: expected absent, actual present "
                             "(departement %s)" % (label, r["departement"]))
                continue
            e = E.refs[mk]
            exp_dep = e.dep
            if self.args.concurrent and mk[0] in SHARED:
                ok = r["departement"] in self.deps
            else:
                ok = r["departement"] == exp_dep
            if not ok:
                diffs.append("%s departement: expected %s, actual %s"
                             % (label, fmt(exp_dep), fmt(r["departement"])))
            if r["est_supprime"] is not False:
                diffs.append("%s est_supprime: expected false, actual %s"
                             % (label, fmt(r["est_supprime"])))
            if r["importe_le"] is None or \
                    (run_dates and r["importe_le"] not in run_dates):
                diffs.append("%s importe_le: expected %s, actual %s"
                             % (label, " or ".join(sorted(
                                 str(d) for d in run_dates)) or "a date",
                                fmt(r["importe_le"])))
            seen_dates.add(r["importe_le"])
        if len(seen_dates) > 1 and not self.args.several_runs:
            diffs.append("importe_le: expected one run date, actual %s"
                         % ", ".join(sorted(fmt(d) for d in seen_dates)))
        self.report("EcoloReference", len(E.refs), len(act), diffs)


def natural(k):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(k))]


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", required=True, help="Ecoloweb database URL")
    ap.add_argument("--target", help="APiLos database URL")
    ap.add_argument("--departement", nargs="+", default=[],
                    help="départements, in the order they were imported")
    ap.add_argument("--run-date", help="expected importe_le (YYYY-MM-DD); "
                    "a comma-separated list accepts any of them")
    ap.add_argument("--several-runs", action="store_true",
                    help="the départements were imported by separate runs "
                    "(their importe_le may differ)")
    ap.add_argument("--run-start", help="instant the import started (ISO); "
                    "insertion times must not be older")
    ap.add_argument("--concurrent", action="store_true",
                    help="départements were imported concurrently: accept "
                    "any of them on shared bailleur/administration "
                    "references")
    ap.add_argument("--print-history", action="store_true",
                    help="print the convention history H and exit")
    ap.add_argument("--list-errors", action="store_true",
                    help="print the source values that cannot be mapped "
                    "(C5), one per line: dep|source table|id|source column|"
                    "value|APiLos table|APiLos column|reason")
    ap.add_argument("--verbose", action="store_true",
                    help="also print the oracle's warnings")
    args = ap.parse_args(argv)
    try:
        S = Source(args.source)
        warnings = []
        H = compute_history(S, warnings)
        if args.print_history:
            print_history(H, args.departement)
            return 0
        if not args.departement:
            ap.error("--departement is required")
        E = Expected(S, H, args.run_date)
        E.warnings.extend(warnings)
        E.run(args.departement)
        if args.list_errors:
            for e in E.errors:
                print("|".join(str(x) for x in (
                    e.dep, e.table, e.id, e.column, e.value, e.ttable,
                    e.tcolumn, e.reason)))
            return 0
        if args.verbose:
            for w in dict.fromkeys(E.warnings):
                print("warning: %s" % w)
        if not args.target:
            ap.error("--target is required")
        T = Target(args.target)
    except DbError as e:
        print("oracle: %s" % e, file=sys.stderr)
        return 2
    ck = Checker(args, S, E, T)
    if E.errors:
        for e in E.errors[:MAX_DIFFS]:
            print("expected failure: (%s) %s id %s column %s value %s "
                  "(%s.%s): %s" % (e.dep, e.table, e.id, e.column, e.value,
                                   e.ttable, e.tcolumn, e.reason))
        print("import: the départements above hold unmappable values, the "
              "import should have failed")
        ck.failed += 1
    for name, model, table, fks in ENTITIES:
        ck.check_entity(name, model, table, fks)
    ck.check_links()
    ck.check_references()
    print("%d passed, %d failed" % (ck.passed, ck.failed))
    return 0 if ck.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
