/*
 * tools/ecoloweb_gen.c
 *     Deterministic generator of synthetic Ecoloweb data (schema `ecolo`),
 *     for the tables of tests/ecoloweb_ddl.sql. C11, libc only.
 *
 * Usage:
 *     ecoloweb_gen [--seed N] [--conventions N] [--departements 22,29,35,56]
 *                  [--logements-per-programme N] [--with-bad-rows] [--help]
 *
 *     Writes to stdout SQL for `psql -v ON_ERROR_STOP=1`, to be loaded after
 *     the DDL: `SET client_encoding`, `BEGIN;`, one `COPY ecolo.<table>
 *     (<cols>) FROM stdin;` block per table in foreign-key order (COPY text
 *     format: `\\`, `\t`, `\n`, `\r` escaped, `\N` = NULL, `\.` ends a
 *     block), `COMMIT;`. The circular key ecolo_conventionapl.
 *     conventioninstruite_id -> ecolo_conventiondonneesgenerales is written
 *     directly in the conventionapl block: the DDL declares it DEFERRABLE
 *     INITIALLY DEFERRED, so it is checked at COMMIT, after the CDG block.
 *
 *     --seed N          PRNG seed (unsigned 64-bit decimal, default 1)
 *     --conventions N   ecolo_conventionapl rows per département (0..100000,
 *                       default 50)
 *     --departements L  comma-separated INSEE codes, written exactly as
 *                       Ecoloweb stores them (01..19, 2A, 2B, 21..95, 971,
 *                       972, 973, 974, 976); default 22,29,35,56
 *     --logements-per-programme N
 *                       most logements of an ordinary programme (2..N drawn,
 *                       N in 2..1000, default 8): benchmarks raise it to the
 *                       real databases' size (about 50 on average)
 *     --with-bad-rows   add one convention holding a value APiLos cannot
 *                       store (see "Bad row" below)
 *     Bad arguments: a message on stderr, exit status 2. Same arguments ->
 *     byte-identical output (own splitmix64 PRNG, no clock, no rand()).
 *
 * Reference data (always, whatever --departements says)
 *     ecolo_region: the 27 pre-2016 régions (01 Guadeloupe ... 53 Bretagne,
 *     72 Aquitaine, 94 Corse); ecolo_departement: the 101 départements
 *     (no 975); ecolo_naturelogement 1..7; ecolo_famillefinancement PLUS,
 *     PLAI, PLS, PLI; ecolo_typefinancement 13 codes (family PLUS: 1, 2, 3,
 *     18, 22, 93; PLAI: 5, 6, 7; PLS: 11, 12; PLI: 14, 15);
 *     ecolo_sousnaturebailleur 110 ... 611 and an unknown 999;
 *     ecolo_valeurparamstatic subtypes ECO (INS OPP RES DEN ANI ANS),
 *     TPJ (1..6), TAN (1..9, ordre = 10 x code), TLO (ST1 T1 T1P T1B T2..T6),
 *     NOP (1 2 3 4 5 6 80 7, exact libellés), CIV (M 'M.', MME 'Mme', NR
 *     with a NULL libellé), TEV (1..21, 25, 26, 36: estgeneresysteme false
 *     except 2, 11, 25 true and 3 NULL; plus '99' and '01', false, unknown to
 *     APiLos), ANN (years 1990..2024, libellé = the year) used by
 *     ecolo_indiceloyer (1995..2024) and ecolo_indiceredevance (2000..2024 x
 *     natures, some missing, some NULL variations).
 *
 * Per generated département (index d in the --departements list)
 *     Communes: 3 to 6 (real ones for 22, 29, 33, 35, 56, 2A, 2B and the
 *     DOM, synthetic names elsewhere); commune 0 is the chef-lieu. Postal
 *     codes: commune 1 has TWO ecolo_codepostal rows (the first, lower id, is
 *     the one to use), commune 2 has NONE, every other commune one.
 *     Administrations: one ecolo_entitegest per département, code DD0xx /
 *     DD9xx (e.g. DD029, DD02A, DD971), plus two shared by all départements:
 *     'DGALN-DHUP' and 'DELEG-NAT' (nom NULL). Each has its address row.
 *
 * Bailleurs: one pool shared by every département, max(10, total
 * conventions / 5) bailleurs, departement_id spread round-robin. By pool
 * index b (k = b % 20 for b >= 10):
 *     b=0   siren+siret, sous-nature 120, 7 contacts whose joined text is far
 *           longer than 255 characters
 *     b=1,2 the SAME codesiren, different codesiret (ids differ)
 *     b=3   codesiren NULL, 14-digit codesiret
 *     b=4   codesiren '', 14-digit codesiret, sous-nature '999' (unknown)
 *     b=5   codesiren '  ', 14-digit codesiret
 *     b=6   no siren/siret, codepersonne only (sous-nature 312)
 *     b=7   no code at all, raison sociale with spaces, accents, punctuation
 *     b=8   raison sociale 'ANAH' (sous-nature 611, no code)
 *     b=9   sous-nature 611 (personne physique) with codepersonne
 *     k=10 ANAH; k=11 sous-nature 999; k=13 same codesiren as b-1; k=15
 *     codesiren NULL; k=16 codesiren ''; k=17 codepersonne only; k=18
 *     nothing; k=19 611 + codepersonne; the others ordinary (siren+siret).
 *     About 15 % have no address (adresse_id NULL); address lines are NULL
 *     sometimes. Contacts: 0..3 each, civilité M./Mme, sometimes NULL
 *     civilite_id, sometimes the NR civilité (NULL libellé), sometimes a
 *     NULL prénom.
 *
 * Conventions: N = --conventions per département; convention i (0-based) of
 * the d-th département of the list (0-based) has libelle 'GEN <dep> #<i,
 * 4 digits>' (e.g. 'GEN 29 #0007'), noordre '<i+1>' and id 15000000 + d * N
 * + i. Avenants are numbered 1..n. Its scenario is chosen by k = i % 50:
 *     k=0   one OPP root, one PLUS programme, no avenant
 *     k=1   root PLUS+PLAI, avenants 1 and 2 with their own CDG (PLUS+PLAI)
 *     k=2   root PLUS; avenant 1 own CDG, avenant 2 WITHOUT CDG ("avenant
 *           libre", inherits the root's CDG), avenant 3 own CDG
 *     k=3   renewals: 3 non-avenant iterations (INS signed, OPP, OPP = the
 *           root) + avenant 1; the oldest iteration has an extra PLAI line
 *     k=4   latest non-avenant iteration is ANI: the previous OPP one is the
 *           root; + avenant 1
 *     k=5   both non-avenant iterations ANI (no root); avenants 1, 2 with
 *           their own CDG (parentless avenants)
 *     k=6   only an ANI non-avenant iteration; avenant 1 WITHOUT CDG (no CDG
 *           to inherit: dropped), avenant 2 with its CDG (parentless)
 *     k=7   avenant 1 has TWO CDG rows (B33: the later one counts);
 *           avenant 2 own CDG
 *     k=8   mixed CDGs: root and avenant 1 hold plain PLUS (tf 1) and tf 18
 *           lines (PLUS + SANS_FINANCEMENT); tf 22 / 93 instead of 18 when
 *           i % 150 is 50..99 / 100..149
 *     k=9   financement on avenants only: root PLUS, avenants 1, 2 PLUS+PLAI
 *     k=10  multi-commune: root has PLUS lines in two communes (dropped) and
 *           a PLAI line; avenant 1 single-commune PLUS+PLAI
 *     k=11  multi-owner: root has two PLUS lines of two owners (dropped);
 *           avenant 1 single-owner PLUS (parentless)
 *     k=12  three PLUS lines (tf 1, 1, 2) in the root CDG (programme_ids of
 *           3 ids); avenant 1 with two PLUS lines
 *     k=13  root INS without any signature date
 *     k=14  root INS signed by the entité gestionnaire only
 *     k=15  root RES (dateresiliationprefet set)
 *     k=16  root DEN        k=17  root ANS
 *     k=18  nature 2 (foyer personnes âgées), NOP 80; every programme has
 *           the annexes parking nombre 12 (lowest id), parking nombre 3,
 *           garage, cave, terrasse, box; bailleur gestionnaire set
 *     k=19  nature 3, NOP 5     k=20  nature 4, NOP 1     k=21  nature 5,
 *           NOP 2     k=22  nature 6, NOP 3     k=23  nature 7, NOP 4
 *     k=24  natureoperation NULL on every programme
 *     k=25  estderogationloyer true, individual logements,
 *           montantplafondloyerindinitial 9999.99
 *     k=26  estderogationloyer true, collective only,
 *           montantplafondloyercolinitial 6.45
 *     k=27  root PLS + tf 22 line; avenant 1 adds a PLI line
 *     k=28  root only tf 93 (SANS_FINANCEMENT); avenants 1, 2 plain PLUS
 *           (parentless PLUS avenants)
 *     k=29  root PLUS+PLAI; avenants 1, 2 without CDG, 3, 4 with
 *     k=30  pièces jointes: 'README' (no extension), NULL fichier, a
 *           'CV.pdf' with NULL date, 'scan.PDF', an accented name, and
 *           'annexe.documentnumeriseparlaprefecturedeport' whose 37-letter
 *           extension makes '<eg>/<capl>/<pj>.<ext>' 64 characters long
 *           (> 50)
 *     k=31  cadastre of the root's first programme: parcelles '0194'
 *           (superficie NULL), '12-15' (1103), 'AB' (25000), '00'
 *           (1234.56); infostypelogement rows ST1 and T1 on that programme
 *     k=32  root with two PLUS programmes of 8 logements each, covering
 *           every TLO code; first logement of the first programme:
 *           surfacehabitable 2.675, surfaceutile 12345.678, surfaceannexe
 *           and surfacecorrigee NULL, coefficientmodulation 1.2345,
 *           montantloyer 312.455, datecreation 0, numerobatiment, noescalier,
 *           etage, numerologement NULL; second logement: surfacehabitable
 *           NULL, montantloyer 0.125
 *     k=33  commune 2 (no postal code); the root's first programme has two
 *           programmeadresse rows, the first with lignes '', '', NULL, NULL
 *           and both with codepostal NULL
 *     k=34  noreglementaire NULL; commune 1 (two postal codes); programme
 *           without programmeadresse, description NULL
 *     k=35  évènements: types 1, 4, 36, '99', '01' (unknown), 11 (system),
 *           3 (NULL estgeneresysteme), one with a NULL date
 *     k=36  owner = ANAH bailleur (b=8), gestionnaire = b=0 (long contacts)
 *     k=37  owner = b=7 (no code), gestionnaire = b=9 (611), entité
 *           créatrice = 'DELEG-NAT' (NULL nom)
 *     k=38  root OPP + avenant 1 in INS without any signature date
 *     k=39..49  ordinary conventions drawn at random: 0..4 avenants (about
 *           1 in 7 without CDG), sometimes 2 non-avenant iterations, PLUS
 *           mostly, sometimes PLUS+PLAI / PLAI / PLS / PLI, états mostly OPP.
 * (k=30..37 have one OPP root and no avenant; k=18..23 an avenant one time
 * in two.) Every convention also gets, at random: 0..2 programmeadresse rows
 * per programme (lignes '' or NULL sometimes, codepostal NULL sometimes), 2..8
 * logements per programme (logementsnombre* consistent with them), annexes,
 * cadastre rows, infostypelogement rows (nblogt* 0 or NULL sometimes), a
 * bailleur gestionnaire on about 1 programme in 9, pièces jointes ('CV.pdf',
 * 'avenant_<n>.pdf', 'scan.PDF', descriptions with newlines), évènements (some
 * NULL dates), estderogationloyer true with small plafonds on a few.
 * Programme-level plafonds and surfaces always fit APiLos columns.
 *
 * Bad row (--with-bad-rows): one more convention, generated after all the
 * others (so every other row is byte-identical to a run without the
 * option, but for the header comment line), in the FIRST département of the
 * list, libelle 'GEN <dep> BAD', noordre 'BAD', id 15000000 + (number of
 * départements) * N: OPP root, one PLUS programme with estderogationloyer
 * true, logementsnombreindtotal > 0 and montantplafondloyerindinitial 12345.5
 * (does not fit APiLos numeric(6,2) loyer_derogatoire).
 *
 * Ids: table number t (order of the COPY blocks below, 0-based) gets ids
 * from (t + 1) * 1000000, in generation order. Dates lie in 1980..2024,
 * except datehistoriquefin of a current iteration (up to 2040).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* PRNG: splitmix64                                                          */
/* ------------------------------------------------------------------------ */

typedef struct {
	uint64_t s;
} Rng;

static uint64_t rng_next(Rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* uniform-enough integer in [0, n) (n > 0) */
static int rnd(Rng *r, int n)
{
	return (int)(rng_next(r) % (uint64_t)n);
}

/* integer in [lo, hi] */
static int rng_range(Rng *r, int lo, int hi)
{
	return lo + rnd(r, hi - lo + 1);
}

/* true with probability pct percent */
static int chance(Rng *r, int pct)
{
	return rnd(r, 100) < pct;
}

static Rng rng_derive(uint64_t seed, uint64_t a, uint64_t b)
{
	Rng r = {seed ^ 0x5DEECE66DULL};
	r.s ^= rng_next(&r) + a * 0x9E3779B97F4A7C15ULL;
	r.s ^= rng_next(&r) + b * 0xC2B2AE3D27D4EB4FULL;
	(void)rng_next(&r);
	return r;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* ------------------------------------------------------------------------ */
/* Output buffers, one per table                                            */
/* ------------------------------------------------------------------------ */

static void die(const char *msg)
{
	fprintf(stderr, "ecoloweb_gen: %s\n", msg);
	exit(1);
}

typedef struct {
	char *p;
	size_t len, cap;
} Buf;

static void buf_grow(Buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (p == NULL)
		die("out of memory");
	b->p = p;
	b->cap = cap;
}

static void buf_put(Buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_putc(Buf *b, char c)
{
	buf_put(b, &c, 1);
}

enum {
	T_VPS,
	T_NL,
	T_FF,
	T_TF,
	T_REG,
	T_DEP,
	T_COM,
	T_CP,
	T_EGA,
	T_EG,
	T_SNB,
	T_ABAIL,
	T_BAIL,
	T_CONTACT,
	T_CAPL,
	T_AV,
	T_CDG,
	T_PL,
	T_PADR,
	T_LOG,
	T_ANX,
	T_IC,
	T_ITL,
	T_PJ,
	T_EV,
	T_ILOY,
	T_IRED,
	T_COUNT
};

typedef struct {
	const char *name;
	const char *cols;
	Buf buf;
	long long next_id;
	long rows;
	int col; /* fields written in the current row */
} Table;

static Table tables[T_COUNT] = {
        {"ecolo_valeurparamstatic",
         "id, subtype, estgeneresysteme, code, ordre, libelle, version",
         {0},
         0,
         0,
         0},
        {"ecolo_naturelogement", "id, code, ordre, libelle, version", {0}, 0, 0, 0},
        {"ecolo_famillefinancement", "id, code, ordre, libelle, version", {0}, 0, 0, 0},
        {"ecolo_typefinancement",
         "id, code, ordre, libelle, famillefinancement_id, version",
         {0},
         0,
         0,
         0},
        {"ecolo_region", "id, codeinsee, libelle, version", {0}, 0, 0, 0},
        {"ecolo_departement", "id, codeinsee, libelle, region_id, version", {0}, 0, 0, 0},
        {"ecolo_commune", "id, code, libelle, departement_id, version", {0}, 0, 0, 0},
        {"ecolo_codepostal", "id, codeinsee, codepostal, libelle", {0}, 0, 0, 0},
        {"ecolo_entitegestadresse",
         "id, ligne1, ligne2, ligne3, ligne4, codepostal, ville, version",
         {0},
         0,
         0,
         0},
        {"ecolo_entitegest", "id, code, nom, adresse_id, version", {0}, 0, 0, 0},
        {"ecolo_sousnaturebailleur", "id, code, ordre, libelle, version", {0}, 0, 0, 0},
        {"ecolo_adressebailleur",
         "id, ligne1, ligne2, ligne3, ligne4, codepostal, ville, version",
         {0},
         0,
         0,
         0},
        {"ecolo_bailleur",
         "id, codesiren, codesiret, codepersonne, raisonsociale, datemodif, "
         "sousnaturebailleur_id, adresse_id, departement_id, version",
         {0},
         0,
         0,
         0},
        {"ecolo_contactbailleur",
         "id, nom, prenom, bailleur_id, civilite_id, version",
         {0},
         0,
         0,
         0},
        {"ecolo_conventionapl",
         "id, noreglementaire, noordre, libelle, datedepot, datesaisie, "
         "datemodification, conventioninstruite_id, entitecreatrice_id, "
         "entitemodification_id, version",
         {0},
         0,
         0,
         0},
        {"ecolo_avenant",
         "id, numero, datedepot, datesignatureprefet, description, "
         "conventionapl_id, entitegest_id, version",
         {0},
         0,
         0,
         0},
        {"ecolo_conventiondonneesgenerales",
         "id, datehistoriquedebut, datehistoriquefin, datesignatureentitegest, "
         "datesignatureprefet, dateresiliationprefet, datepublication, "
         "referencepublication, conventionapl_id, etatconvention_id, "
         "naturelogement_id, avenant_id, estcourante, version, "
         "daterefushypotheque, motifrefushypotheque",
         {0},
         0,
         0,
         0},
        {"ecolo_programmelogement",
         "id, description, ordre, datemiseservice, surfacehabitable, "
         "surfacecorrigee, surfaceutile, logementsnombretotal, "
         "logementsnombreindtotal, logementsnombrecoltotal, "
         "reservationprefnombre, estderogationloyer, financementdate, "
         "financementreferencedossier, montantplafondloyerindinitial, "
         "montantplafondloyercolinitial, datemisechantier, "
         "conventiondonneesgenerales_id, typefinancement_id, natureoperation_id, "
         "commune_id, bailleurgestionnaire_id, bailleurproprietaire_id, version",
         {0},
         0,
         0,
         0},
        {"ecolo_programmeadresse",
         "id, ligne1, ligne2, ligne3, ligne4, codepostal, ville, datecreation, "
         "programmelogement_id, version",
         {0},
         0,
         0,
         0},
        {"ecolo_logement",
         "id, numerobatiment, noescalier, etage, numerologement, "
         "surfacehabitable, surfaceannexe, surfaceutile, surfacecorrigee, "
         "coefficientmodulation, montantloyer, programmelogement_id, "
         "typelogement_id, datecreation, version",
         {0},
         0,
         0,
         0},
        {"ecolo_annexe",
         "id, nombre, montantloyerinitial, typeannexe_id, programmelogement_id, "
         "datecreation, version",
         {0},
         0,
         0,
         0},
        {"ecolo_infocadastrale",
         "id, section, parcelle, superficie, programmelogement_id, version",
         {0},
         0,
         0,
         0},
        {"ecolo_infostypelogement",
         "id, nblogtind, nblogtcol, programmelogement_id, typelogement_id, version",
         {0},
         0,
         0,
         0},
        {"ecolo_piecejointe",
         "id, fichier, description, date, conventionapl_id, typepiecejointe_id, "
         "entitegest_id, version",
         {0},
         0,
         0,
         0},
        {"ecolo_evenement",
         "id, date, description, conventionapl_id, typeevenement_id, version",
         {0},
         0,
         0,
         0},
        {"ecolo_indiceloyer",
         "id, annee_id, irl2evol, irl1evol, iccaugmentation, version",
         {0},
         0,
         0,
         0},
        {"ecolo_indiceredevance",
         "id, annee_id, naturelogement_id, indicevariation, version",
         {0},
         0,
         0,
         0},
};

static Table *cur; /* table of the row being written */

static long long new_id(int t)
{
	if (tables[t].next_id == 0)
		tables[t].next_id = (long long)(t + 1) * 1000000;
	return tables[t].next_id++;
}

static void row_begin(int t)
{
	cur = &tables[t];
	cur->col = 0;
}

static void row_end(void)
{
	buf_putc(&cur->buf, '\n');
	cur->rows++;
	cur = NULL;
}

static void sep(void)
{
	if (cur->col++ > 0)
		buf_putc(&cur->buf, '\t');
}

static void f_null(void)
{
	sep();
	buf_put(&cur->buf, "\\N", 2);
}

/* text, COPY-escaped; NULL pointer -> \N */
static void f_str(const char *s)
{
	if (s == NULL) {
		f_null();
		return;
	}
	sep();
	for (; *s; s++) {
		switch (*s) {
		case '\\':
			buf_put(&cur->buf, "\\\\", 2);
			break;
		case '\t':
			buf_put(&cur->buf, "\\t", 2);
			break;
		case '\n':
			buf_put(&cur->buf, "\\n", 2);
			break;
		case '\r':
			buf_put(&cur->buf, "\\r", 2);
			break;
		default:
			buf_putc(&cur->buf, *s);
			break;
		}
	}
}

static void f_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void f_strf(const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	f_str(tmp);
}

static void f_int(long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%lld", v);
	sep();
	buf_put(&cur->buf, tmp, (size_t)n);
}

/* id or NULL when v <= 0 */
static void f_ref(long long v)
{
	if (v <= 0)
		f_null();
	else
		f_int(v);
}

/* -1 NULL, 0 false, 1 true */
static void f_bool(int v)
{
	sep();
	buf_put(&cur->buf, v < 0 ? "\\N" : v ? "t" : "f", v < 0 ? 2 : 1);
}

/* fixed-point number v / 10^dec, written with dec decimals; v >= 0 */
static void f_fix(long long v, int dec)
{
	char tmp[48];
	long long p = 1;
	for (int i = 0; i < dec; i++)
		p *= 10;
	int n = dec ? snprintf(tmp, sizeof tmp, "%lld.%0*lld", v / p, dec, v % p)
	            : snprintf(tmp, sizeof tmp, "%lld", v);
	sep();
	buf_put(&cur->buf, tmp, (size_t)n);
}

/* a number given as text (a literal such as "12345.678"), NULL -> \N */
static void f_num(const char *text)
{
	if (text == NULL) {
		f_null();
		return;
	}
	sep();
	buf_put(&cur->buf, text, strlen(text));
}

/* ------------------------------------------------------------------------ */
/* Dates, as days since 1970-01-01                                           */
/* ------------------------------------------------------------------------ */

#define NODATE INT_MIN

static int days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int z, int *y, int *m, int *d)
{
	z += 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	int doe = z - era * 146097;
	int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static int year_of(int days)
{
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	return y;
}

static void f_date(int days)
{
	if (days == NODATE) {
		f_null();
		return;
	}
	int y, m, d;
	char tmp[16];
	civil_from_days(days, &y, &m, &d);
	int n = snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", y, m, d);
	sep();
	buf_put(&cur->buf, tmp, (size_t)n);
}

static int DAY_MIN, DAY_MAX; /* 1980-01-01, 2024-12-31 */

static int clamp_day(int d)
{
	return d < DAY_MIN ? DAY_MIN : d > DAY_MAX ? DAY_MAX : d;
}

/* milliseconds since the epoch of a moment of that day */
static long long ms_of(Rng *r, int days)
{
	long long sec = rnd(r, 86400); /* one draw per statement: */
	long long ms = rnd(r, 1000);   /* evaluation order is fixed */
	return (long long)days * 86400000LL + sec * 1000LL + ms;
}

/* ------------------------------------------------------------------------ */
/* Static reference data                                                    */
/* ------------------------------------------------------------------------ */

typedef struct {
	const char *code, *libelle;
} CodeLib;

/* pre-2016 régions (Ecoloweb keeps the old INSEE codes) */
static const CodeLib REGIONS[] = {
        {"01", "Guadeloupe"},
        {"02", "Martinique"},
        {"03", "Guyane"},
        {"04", "La Réunion"},
        {"06", "Mayotte"},
        {"11", "Île-de-France"},
        {"21", "Champagne-Ardenne"},
        {"22", "Picardie"},
        {"23", "Haute-Normandie"},
        {"24", "Centre"},
        {"25", "Basse-Normandie"},
        {"26", "Bourgogne"},
        {"31", "Nord-Pas-de-Calais"},
        {"41", "Lorraine"},
        {"42", "Alsace"},
        {"43", "Franche-Comté"},
        {"52", "Pays de la Loire"},
        {"53", "Bretagne"},
        {"54", "Poitou-Charentes"},
        {"72", "Aquitaine"},
        {"73", "Midi-Pyrénées"},
        {"74", "Limousin"},
        {"82", "Rhône-Alpes"},
        {"83", "Auvergne"},
        {"91", "Languedoc-Roussillon"},
        {"93", "Provence-Alpes-Côte d'Azur"},
        {"94", "Corse"},
};
#define N_REGIONS ((int)(sizeof REGIONS / sizeof REGIONS[0]))

typedef struct {
	const char *code, *libelle, *region;
} DepDef;

static const DepDef DEPS[] = {
        {"01", "Ain", "82"},
        {"02", "Aisne", "22"},
        {"03", "Allier", "83"},
        {"04", "Alpes-de-Haute-Provence", "93"},
        {"05", "Hautes-Alpes", "93"},
        {"06", "Alpes-Maritimes", "93"},
        {"07", "Ardèche", "82"},
        {"08", "Ardennes", "21"},
        {"09", "Ariège", "73"},
        {"10", "Aube", "21"},
        {"11", "Aude", "91"},
        {"12", "Aveyron", "73"},
        {"13", "Bouches-du-Rhône", "93"},
        {"14", "Calvados", "25"},
        {"15", "Cantal", "83"},
        {"16", "Charente", "54"},
        {"17", "Charente-Maritime", "54"},
        {"18", "Cher", "24"},
        {"19", "Corrèze", "74"},
        {"2A", "Corse-du-Sud", "94"},
        {"2B", "Haute-Corse", "94"},
        {"21", "Côte-d'Or", "26"},
        {"22", "Côtes-d'Armor", "53"},
        {"23", "Creuse", "74"},
        {"24", "Dordogne", "72"},
        {"25", "Doubs", "43"},
        {"26", "Drôme", "82"},
        {"27", "Eure", "23"},
        {"28", "Eure-et-Loir", "24"},
        {"29", "Finistère", "53"},
        {"30", "Gard", "91"},
        {"31", "Haute-Garonne", "73"},
        {"32", "Gers", "73"},
        {"33", "Gironde", "72"},
        {"34", "Hérault", "91"},
        {"35", "Ille-et-Vilaine", "53"},
        {"36", "Indre", "24"},
        {"37", "Indre-et-Loire", "24"},
        {"38", "Isère", "82"},
        {"39", "Jura", "43"},
        {"40", "Landes", "72"},
        {"41", "Loir-et-Cher", "24"},
        {"42", "Loire", "82"},
        {"43", "Haute-Loire", "83"},
        {"44", "Loire-Atlantique", "52"},
        {"45", "Loiret", "24"},
        {"46", "Lot", "73"},
        {"47", "Lot-et-Garonne", "72"},
        {"48", "Lozère", "91"},
        {"49", "Maine-et-Loire", "52"},
        {"50", "Manche", "25"},
        {"51", "Marne", "21"},
        {"52", "Haute-Marne", "21"},
        {"53", "Mayenne", "52"},
        {"54", "Meurthe-et-Moselle", "41"},
        {"55", "Meuse", "41"},
        {"56", "Morbihan", "53"},
        {"57", "Moselle", "41"},
        {"58", "Nièvre", "26"},
        {"59", "Nord", "31"},
        {"60", "Oise", "22"},
        {"61", "Orne", "25"},
        {"62", "Pas-de-Calais", "31"},
        {"63", "Puy-de-Dôme", "83"},
        {"64", "Pyrénées-Atlantiques", "72"},
        {"65", "Hautes-Pyrénées", "73"},
        {"66", "Pyrénées-Orientales", "91"},
        {"67", "Bas-Rhin", "42"},
        {"68", "Haut-Rhin", "42"},
        {"69", "Rhône", "82"},
        {"70", "Haute-Saône", "43"},
        {"71", "Saône-et-Loire", "26"},
        {"72", "Sarthe", "52"},
        {"73", "Savoie", "82"},
        {"74", "Haute-Savoie", "82"},
        {"75", "Paris", "11"},
        {"76", "Seine-Maritime", "23"},
        {"77", "Seine-et-Marne", "11"},
        {"78", "Yvelines", "11"},
        {"79", "Deux-Sèvres", "54"},
        {"80", "Somme", "22"},
        {"81", "Tarn", "73"},
        {"82", "Tarn-et-Garonne", "73"},
        {"83", "Var", "93"},
        {"84", "Vaucluse", "93"},
        {"85", "Vendée", "52"},
        {"86", "Vienne", "54"},
        {"87", "Haute-Vienne", "74"},
        {"88", "Vosges", "41"},
        {"89", "Yonne", "26"},
        {"90", "Territoire de Belfort", "43"},
        {"91", "Essonne", "11"},
        {"92", "Hauts-de-Seine", "11"},
        {"93", "Seine-Saint-Denis", "11"},
        {"94", "Val-de-Marne", "11"},
        {"95", "Val-d'Oise", "11"},
        {"971", "Guadeloupe", "01"},
        {"972", "Martinique", "02"},
        {"973", "Guyane", "03"},
        {"974", "La Réunion", "04"},
        {"976", "Mayotte", "06"},
};
#define N_DEPS ((int)(sizeof DEPS / sizeof DEPS[0]))

/* real communes for a few départements: INSEE code, libellé, postal code */
typedef struct {
	const char *code, *libelle, *cp;
} ComDef;

typedef struct {
	const char *dep;
	ComDef c[6];
} RealComs;

static const RealComs REAL_COMS[] = {
        {"22",
         {{"22278", "Saint-Brieuc", "22000"},
          {"22113", "Lannion", "22300"},
          {"22050", "Dinan", "22100"},
          {"22070", "Guingamp", "22200"},
          {"22136", "Loudéac", "22600"},
          {"22187", "Plérin", "22190"}}},
        {"29",
         {{"29019", "Brest", "29200"},
          {"29232", "Quimper", "29000"},
          {"29151", "Morlaix", "29600"},
          {"29046", "Douarnenez", "29100"},
          {"29103", "Landerneau", "29800"},
          {"29233", "Quimperlé", "29300"}}},
        {"33",
         {{"33063", "Bordeaux", "33000"},
          {"33039", "Bègles", "33130"},
          {"33281", "Mérignac", "33700"},
          {"33318", "Pessac", "33600"},
          {"33522", "Talence", "33400"},
          {"33069", "Le Bouscat", "33110"}}},
        {"35",
         {{"35238", "Rennes", "35000"},
          {"35288", "Saint-Malo", "35400"},
          {"35115", "Fougères", "35300"},
          {"35360", "Vitré", "35500"},
          {"35047", "Bruz", "35170"},
          {"35051", "Cesson-Sévigné", "35510"}}},
        {"56",
         {{"56260", "Vannes", "56000"},
          {"56121", "Lorient", "56100"},
          {"56178", "Pontivy", "56300"},
          {"56007", "Auray", "56400"},
          {"56083", "Hennebont", "56700"},
          {"56162", "Ploërmel", "56800"}}},
        {"2A",
         {{"2A004", "Ajaccio", "20000"},
          {"2A247", "Porto-Vecchio", "20137"},
          {"2A272", "Sartène", "20100"},
          {"2A041", "Bonifacio", "20169"}}},
        {"2B",
         {{"2B033", "Bastia", "20200"},
          {"2B050", "Calvi", "20260"},
          {"2B096", "Corte", "20250"},
          {"2B148", "L'Île-Rousse", "20220"}}},
        {"971",
         {{"97101", "Les Abymes", "97139"},
          {"97120", "Pointe-à-Pitre", "97110"},
          {"97105", "Basse-Terre", "97100"},
          {"97113", "Le Gosier", "97190"}}},
        {"972",
         {{"97209", "Fort-de-France", "97200"},
          {"97213", "Le Lamentin", "97232"},
          {"97229", "Schœlcher", "97233"}}},
        {"973",
         {{"97302", "Cayenne", "97300"},
          {"97307", "Matoury", "97351"},
          {"97311", "Saint-Laurent-du-Maroni", "97320"}}},
        {"974",
         {{"97411", "Saint-Denis", "97400"},
          {"97416", "Saint-Pierre", "97410"},
          {"97415", "Saint-Paul", "97460"},
          {"97422", "Le Tampon", "97430"}}},
        {"976",
         {{"97611", "Mamoudzou", "97600"},
          {"97608", "Dzaoudzi", "97615"},
          {"97610", "Koungou", "97690"}}},
};
#define N_REAL_COMS ((int)(sizeof REAL_COMS / sizeof REAL_COMS[0]))

static const char *const COMMUNE_NAMES[] = {
        "Saint-Martin",
        "Sainte-Hélène",
        "Villeneuve",
        "Beaumont",
        "La Chapelle",
        "Saint-Étienne-du-Bois",
        "Montreuil",
        "Bellevue",
        "Fontaine-l'Évêque",
        "Châteauneuf",
        "Saint-André",
        "Pont-Sainte-Marie",
        "Les Églisottes",
        "Bourg-la-Forêt",
        "Mézières",
        "Saint-Genès",
        "Château-Thierry-sur-Lys",
        "Évry-le-Châtel",
        "Sainte-Gemme",
        "Lœuilly",
        "Vaulx-en-Prés",
        "Aigrefeuille",
};
#define N_COMMUNE_NAMES ((int)(sizeof COMMUNE_NAMES / sizeof COMMUNE_NAMES[0]))

/* valeurs paramétrées */
typedef struct {
	const char *subtype, *code, *libelle;
	int system; /* estgeneresysteme: -1 NULL, 0, 1 */
	int ordre;
} VpsDef;

enum { ECO_INS, ECO_OPP, ECO_RES, ECO_DEN, ECO_ANI, ECO_ANS, N_ECO };

static const VpsDef VPS[] = {
        {"ECO", "INS", "Instruction", -1, 10},
        {"ECO", "OPP", "Opposable", -1, 20},
        {"ECO", "RES", "Résiliée", -1, 30},
        {"ECO", "DEN", "Dénoncée", -1, 40},
        {"ECO", "ANI", "Abandonnée en instruction", -1, 50},
        {"ECO", "ANS", "Annulée en suivi", -1, 60},
#define VPS_TPJ 6
        {"TPJ", "1", "Convention", -1, 10},
        {"TPJ", "2", "Rectification", -1, 20},
        {"TPJ", "3", "Attestation préfectorale", -1, 30},
        {"TPJ", "4", "Avenant", -1, 40},
        {"TPJ", "5", "Photo", -1, 50},
        {"TPJ", "6", "Autres", -1, 60},
#define VPS_TAN 12
        {"TAN", "1", "Garage", -1, 10},
        {"TAN", "2", "Parking", -1, 20},
        {"TAN", "3", "Jardin", -1, 30},
        {"TAN", "4", "Cour", -1, 40},
        {"TAN", "5", "Terrasse", -1, 50},
        {"TAN", "6", "Véranda", -1, 60},
        {"TAN", "7", "Cave", -1, 70},
        {"TAN", "8", "Box", -1, 80},
        {"TAN", "9", "Autre", -1, 90},
#define VPS_TLO 21
        {"TLO", "ST1", "Studio Type 1", -1, 10},
        {"TLO", "T1", "Type 1", -1, 20},
        {"TLO", "T1P", "Type 1'", -1, 25},
        {"TLO", "T1B", "Type 1 Bis", -1, 30},
        {"TLO", "T2", "Type 2", -1, 40},
        {"TLO", "T3", "Type 3", -1, 50},
        {"TLO", "T4", "Type 4", -1, 60},
        {"TLO", "T5", "Type 5", -1, 70},
        {"TLO", "T6", "Type 6 et plus", -1, 80},
#define VPS_NOP 30
        {"NOP", "1", "Neuf ou construction", -1, 10},
        {"NOP", "2", "Acquisition seule", -1, 20},
        {"NOP", "3", "Acquisition/amélioration", -1, 30},
        {"NOP", "4", "Acquisition en milieu occupé", -1, 40},
        {"NOP", "5", "Amélioration", -1, 50},
        {"NOP", "6", "Construction/démolition", -1, 60},
        {"NOP", "80", "Parc existant", -1, 70},
        {"NOP", "7", "Opération ANAH", -1, 80},
#define VPS_CIV 38
        {"CIV", "M", "M.", -1, 10},
        {"CIV", "MME", "Mme", -1, 20},
        {"CIV", "NR", NULL, -1, 30},
#define VPS_TEV 41
        {"TEV", "1", "Dépôt du bailleur", 0, 1},
        {"TEV", "2", "Modification", 1, 2},
        {"TEV", "3", "Échange", -1, 3},
        {"TEV", "4", "Envoi au préfet", 0, 4},
        {"TEV", "5", "Retour du préfet", 0, 5},
        {"TEV", "6", "Envoi aux hypothèques", 0, 6},
        {"TEV", "7", "Retour des hypothèques", 0, 7},
        {"TEV", "8", "Envoi du rectificatif au préfet", 0, 8},
        {"TEV", "9", "Retour du rectificatif du préfet", 0, 9},
        {"TEV", "10", "Publication aux hypothèques", 0, 10},
        {"TEV", "11", "Envoi à la CAF", 1, 11},
        {"TEV", "12", "Dépôt d'un avenant", 0, 12},
        {"TEV", "13", "Instruction d'un avenant", 0, 13},
        {"TEV", "14", "Correction d'un avenant", 0, 14},
        {"TEV", "15", "Envoi de l'avenant au préfet", 0, 15},
        {"TEV", "16", "Signature de l'avenant par le préfet", 0, 16},
        {"TEV", "17", "Envoi de l'avenant aux hypothèques", 0, 17},
        {"TEV", "18", "Retour de l'avenant des hypothèques", 0, 18},
        {"TEV", "19", "Envoi du rectificatif d'avenant au préfet", 0, 19},
        {"TEV", "20", "Retour du rectificatif d'avenant du préfet", 0, 20},
        {"TEV", "21", "Publication de l'avenant aux hypothèques", 0, 21},
        {"TEV", "25", "Expiration de la convention", 1, 25},
        {"TEV", "26", "Envoi de la fin de dénonciation", 0, 26},
        {"TEV", "36", "Autre", 0, 36},
        {"TEV", "99", "Divers (ancien)", 0, 99},
        {"TEV", "01", "Dépôt (reprise)", 0, 100},
};
#define N_VPS ((int)(sizeof VPS / sizeof VPS[0]))
#define N_TEV (N_VPS - VPS_TEV)
#define ANN_FIRST 1990
#define ANN_LAST 2024

/* TLO indices (offsets from VPS_TLO) */
enum { TLO_ST1, TLO_T1, TLO_T1P, TLO_T1B, TLO_T2, TLO_T3, TLO_T4, TLO_T5, TLO_T6, N_TLO };

static const CodeLib NATURES[] = {
        {"1", "Logements ordinaires"},         {"2", "Foyers personnes âgées"},
        {"3", "Foyers personnes handicapées"}, {"4", "Foyers travailleurs migrants"},
        {"5", "Foyers jeunes travailleurs"},   {"6", "Résidences sociales"},
        {"7", "Foyers habitat inclusif"},
};
#define N_NATURES 7

static const CodeLib FAMILLES[] = {
        {"PLUS", "Prêt locatif à usage social"},
        {"PLAI", "Prêt locatif aidé d'intégration"},
        {"PLS", "Prêt locatif social"},
        {"PLI", "Prêt locatif intermédiaire"},
};
#define N_FAMILLES 4

typedef struct {
	const char *code, *libelle;
	int famille;
} TfDef;

enum { TF_1, TF_2, TF_3, TF_18, TF_22, TF_93, TF_5, TF_6, TF_7, TF_11, TF_12, TF_14, TF_15, N_TF };

static const TfDef TFS[N_TF] = {
        {"1", "PLUS", 0},
        {"2", "PLUS Construction-Démolition", 0},
        {"3", "PLA (ancien régime)", 0},
        {"18", "ANAH sans travaux", 0},
        {"22", "Patrimoine existant sans ou avec travaux", 0},
        {"93", "RS sans travaux", 0},
        {"5", "PLAI", 1},
        {"6", "PLA d'intégration", 1},
        {"7", "PLA très social", 1},
        {"11", "PLS", 2},
        {"12", "PLS Construction-Démolition", 2},
        {"14", "PLI", 3},
        {"15", "PLI Construction-Démolition", 3},
};

static const CodeLib SNBS[] = {
        {"110", "Société coopérative de production d'HLM"},
        {"112", "Société coopérative d'intérêt collectif d'HLM"},
        {"114", "Office public de l'habitat"},
        {"120", "Société anonyme d'HLM (ESH)"},
        {"130", "Société anonyme coopérative d'HLM"},
        {"140", "Société anonyme de crédit immobilier"},
        {"210", "Société d'économie mixte"},
        {"312", "Commune"},
        {"314", "Établissement public local"},
        {"316", "Établissement hospitalier privé"},
        {"320", "EPCI"},
        {"321", "Fondation HLM"},
        {"322", "Association"},
        {"326", "Société commerciale"},
        {"328", "Foncière logement"},
        {"330", "Groupement d'intérêt public"},
        {"331", "Fondation"},
        {"332", "Mutuelle"},
        {"334", "Département"},
        {"336", "PACT-ARIM"},
        {"337", "CROUS"},
        {"338", "DRE, DDE, CETE, administration centrale, préfecture"},
        {"611", "Personne physique"},
        {"999", "Inconnue (reprise)"},
};
#define N_SNBS ((int)(sizeof SNBS / sizeof SNBS[0]))
enum {
	SNB_110,
	SNB_112,
	SNB_114,
	SNB_120,
	SNB_130,
	SNB_140,
	SNB_210,
	SNB_312,
	SNB_611 = 22,
	SNB_999 = 23
};

/* cities for addresses of bailleurs: libellé, upper case, postal code */
typedef struct {
	const char *name, *upper, *cp;
} City;

static const City CITIES[] = {
        {"Brest", "BREST", "29200"},
        {"Quimper", "QUIMPER", "29000"},
        {"Rennes", "RENNES", "35000"},
        {"Vannes", "VANNES", "56000"},
        {"Lorient", "LORIENT", "56100"},
        {"Saint-Brieuc", "SAINT-BRIEUC", "22000"},
        {"Bordeaux", "BORDEAUX", "33000"},
        {"Mérignac", "MERIGNAC", "33700"},
        {"Nantes", "NANTES", "44000"},
        {"Angers", "ANGERS", "49000"},
        {"Lyon", "LYON", "69003"},
        {"Besançon", "BESANCON", "25000"},
        {"Orléans", "ORLEANS", "45000"},
        {"Évreux", "EVREUX", "27000"},
        {"Pointe-à-Pitre", "POINTE-A-PITRE", "97110"},
        {"Ajaccio", "AJACCIO", "20000"},
        {"Paris", "PARIS", "75013"},
        {"Lille", "LILLE", "59000"},
};
#define N_CITIES ((int)(sizeof CITIES / sizeof CITIES[0]))

static const char *const STREETS[] = {
        "RUE DE LA RÉPUBLIQUE",    "AVENUE JEAN JAURÈS", "RUE DU GÉNÉRAL DE GAULLE",
        "ALLÉE DES CHÊNES",        "PLACE DE L'ÉGLISE",  "RUE VICTOR HUGO",
        "BOULEVARD DE LA LIBERTÉ", "IMPASSE DES LILAS",  "CHEMIN DU MOULIN",
        "RUE DE KERGARADEC",       "QUAI DES CHARTRONS", "RUE PASTEUR",
        "AVENUE DE LA MER",        "RUE DES ÉCOLES",     "ROUTE DE NANTES",
};
#define N_STREETS ((int)(sizeof STREETS / sizeof STREETS[0]))

static const char *const RESIDENCES[] = {
        "Résidence Les Tilleuls", "Les Jardins d'Iroise",  "Le Clos Fleuri",
        "Résidence du Port",      "Les Hauts de Ker Lann", "Le Hameau des Pins",
        "Résidence Émeraude",     "Les Terrasses du Lac",  "Cité Jardin",
        "Le Parc Saint-Éloi",     "Les Coteaux",           "Foyer Ker Avel",
};
#define N_RESIDENCES ((int)(sizeof RESIDENCES / sizeof RESIDENCES[0]))

static const char *const PRENOMS[] = {
        "Jean",   "Marie", "Yann",   "Anne", "Loïc",   "Maëlle", "François",
        "Hélène", "Erwan", "Sophie", "Gaël", "Élodie", "Pierre", "Nathalie",
};
#define N_PRENOMS ((int)(sizeof PRENOMS / sizeof PRENOMS[0]))

static const char *const NOMS[] = {
        "Le Goff",  "Martin",  "Le Gall", "Bernard", "Quéré",  "Morvan", "Dupont",
        "Kerdraon", "Lefèvre", "Rivière", "Guéguen", "Tanguy", "Moreau", "Lebreton",
};
#define N_NOMS ((int)(sizeof NOMS / sizeof NOMS[0]))

static const char *const BAILLEUR_PREFIX[] = {
        "Habitat",   "SA HLM Les Foyers de",   "Office Public de l'Habitat de",
        "Coop'HLM",  "SEM d'aménagement de",   "Les Logis de",
        "Aiguillon", "Immobilière sociale de", "Foyer rural de",
};
#define N_BAILLEUR_PREFIX ((int)(sizeof BAILLEUR_PREFIX / sizeof BAILLEUR_PREFIX[0]))

/* ------------------------------------------------------------------------ */
/* Generated reference rows and their ids                                   */
/* ------------------------------------------------------------------------ */

static uint64_t opt_seed = 1;
static int opt_conventions = 50;
static int opt_max_logements = 8;
static int opt_bad_rows;

static long long vps_id[N_VPS];
static long long ann_id[ANN_LAST - ANN_FIRST + 1];
static long long nl_id[N_NATURES], ff_id[N_FAMILLES], tf_id[N_TF], snb_id[N_SNBS];
static long long region_id[N_REGIONS], dep_id[N_DEPS];

#define MAX_COMS 6

typedef struct {
	int def; /* index into DEPS */
	int ncom;
	long long com_id[MAX_COMS];
	char com_code[MAX_COMS][24];
	char com_lib[MAX_COMS][64];
	char com_cp[MAX_COMS][24];
	long long eg_id; /* its administration */
} GenDep;

static GenDep gdeps[N_DEPS];
static int ngdeps;
static long long eg_shared[2]; /* DGALN-DHUP, DELEG-NAT (nom NULL) */

enum {
	K_NORMAL,
	K_LONGCONTACTS,
	K_SAMESIREN,
	K_SIREN_NULL,
	K_SIREN_EMPTY,
	K_SIREN_SPACES,
	K_PERSONNE,
	K_NOTHING,
	K_ANAH,
	K_611
};

static long long *bail_id;
static int nbail;

static int find_dep(const char *code)
{
	for (int i = 0; i < N_DEPS; i++)
		if (strcmp(DEPS[i].code, code) == 0)
			return i;
	return -1;
}

static void gen_static_reference(void)
{
	for (int i = 0; i < N_VPS; i++) {
		vps_id[i] = new_id(T_VPS);
		row_begin(T_VPS);
		f_int(vps_id[i]);
		f_str(VPS[i].subtype);
		f_bool(VPS[i].system);
		f_str(VPS[i].code);
		f_int(VPS[i].ordre);
		f_str(VPS[i].libelle);
		f_int(0);
		row_end();
	}
	for (int y = ANN_FIRST; y <= ANN_LAST; y++) {
		ann_id[y - ANN_FIRST] = new_id(T_VPS);
		row_begin(T_VPS);
		f_int(ann_id[y - ANN_FIRST]);
		f_str("ANN");
		f_null();
		f_strf("%d", y);
		f_int(y);
		f_strf("%d", y);
		f_int(0);
		row_end();
	}
	for (int i = 0; i < N_NATURES; i++) {
		nl_id[i] = new_id(T_NL);
		row_begin(T_NL);
		f_int(nl_id[i]);
		f_str(NATURES[i].code);
		f_int((i + 1) * 10);
		f_str(NATURES[i].libelle);
		f_int(0);
		row_end();
	}
	for (int i = 0; i < N_FAMILLES; i++) {
		ff_id[i] = new_id(T_FF);
		row_begin(T_FF);
		f_int(ff_id[i]);
		f_str(FAMILLES[i].code);
		f_int((i + 1) * 10);
		f_str(FAMILLES[i].libelle);
		f_int(0);
		row_end();
	}
	for (int i = 0; i < N_TF; i++) {
		tf_id[i] = new_id(T_TF);
		row_begin(T_TF);
		f_int(tf_id[i]);
		f_str(TFS[i].code);
		f_int((i + 1) * 10);
		f_str(TFS[i].libelle);
		f_int(ff_id[TFS[i].famille]);
		f_int(0);
		row_end();
	}
	for (int i = 0; i < N_REGIONS; i++) {
		region_id[i] = new_id(T_REG);
		row_begin(T_REG);
		f_int(region_id[i]);
		f_str(REGIONS[i].code);
		f_str(REGIONS[i].libelle);
		f_int(0);
		row_end();
	}
	for (int i = 0; i < N_DEPS; i++) {
		int reg = -1;
		for (int j = 0; j < N_REGIONS; j++)
			if (strcmp(REGIONS[j].code, DEPS[i].region) == 0)
				reg = j;
		if (reg < 0)
			die("internal error: département without région");
		dep_id[i] = new_id(T_DEP);
		row_begin(T_DEP);
		f_int(dep_id[i]);
		f_str(DEPS[i].code);
		f_str(DEPS[i].libelle);
		f_int(region_id[reg]);
		f_int(0);
		row_end();
	}
	for (int i = 0; i < N_SNBS; i++) {
		snb_id[i] = new_id(T_SNB);
		row_begin(T_SNB);
		f_int(snb_id[i]);
		f_str(SNBS[i].code);
		f_int((i + 1) * 10);
		f_str(SNBS[i].libelle);
		f_int(0);
		row_end();
	}
	/* rent and fee indices (ecoloweb_import_loyers_indices) */
	Rng r = rng_derive(opt_seed, 0x1D1CE5, 0);
	for (int y = 1995; y <= 2024; y++) {
		row_begin(T_ILOY);
		f_int(new_id(T_ILOY));
		f_int(ann_id[y - ANN_FIRST]);
		if (y >= 2008 || chance(&r, 30))
			f_fix(rng_range(&r, 0, 350), 2); /* irl2evol */
		else
			f_null();
		if (y >= 2006 && y <= 2009)
			f_fix(rng_range(&r, 50, 300), 2); /* irl1evol */
		else
			f_null();
		if (y < 2006 || chance(&r, 20))
			f_fix(rng_range(&r, 0, 500), 2); /* iccaugmentation */
		else
			f_null();
		f_int(0);
		row_end();
	}
	for (int y = 2000; y <= 2024; y++)
		for (int n = 0; n < N_NATURES; n++) {
			if (n > 0 && chance(&r, 15))
				continue; /* some (year, nature) missing */
			row_begin(T_IRED);
			f_int(new_id(T_IRED));
			f_int(ann_id[y - ANN_FIRST]);
			f_int(nl_id[n]);
			if (chance(&r, 8))
				f_null();
			else
				f_fix(10000 + rng_range(&r, 0, 350), 4);
			f_int(0);
			row_end();
		}
}

/* communes, postal codes and the administration of one département */
static void gen_departement_reference(GenDep *g)
{
	const DepDef *dd = &DEPS[g->def];
	Rng r = rng_derive(opt_seed, str_hash(dd->code), 0xC0);
	const RealComs *rc = NULL;
	for (int i = 0; i < N_REAL_COMS; i++)
		if (strcmp(REAL_COMS[i].dep, dd->code) == 0)
			rc = &REAL_COMS[i];
	g->ncom = rng_range(&r, 3, MAX_COMS);
	if (rc) {
		int avail = 0;
		while (avail < MAX_COMS && rc->c[avail].code)
			avail++;
		if (g->ncom > avail)
			g->ncom = avail;
	}
	int h = (int)(str_hash(dd->code) % 1000);
	for (int j = 0; j < g->ncom; j++) {
		if (rc) {
			snprintf(g->com_code[j], sizeof g->com_code[j], "%s", rc->c[j].code);
			snprintf(g->com_lib[j], sizeof g->com_lib[j], "%s", rc->c[j].libelle);
			snprintf(g->com_cp[j], sizeof g->com_cp[j], "%s", rc->c[j].cp);
		} else {
			int num = j == 0 ? 1 + h % 40 : 60 + 47 * j + rnd(&r, 40);
			snprintf(g->com_code[j], sizeof g->com_code[j], "%s%03d", dd->code, num);
			snprintf(g->com_lib[j], sizeof g->com_lib[j], "%s",
			         COMMUNE_NAMES[(h + 7 * j) % N_COMMUNE_NAMES]);
			snprintf(g->com_cp[j], sizeof g->com_cp[j], "%s%03d", dd->code,
			         j == 0 ? 0 : 10 * rng_range(&r, 10, 99));
		}
		g->com_id[j] = new_id(T_COM);
		row_begin(T_COM);
		f_int(g->com_id[j]);
		f_str(g->com_code[j]);
		f_str(g->com_lib[j]);
		f_int(dep_id[g->def]);
		f_int(0);
		row_end();
	}
	/* postal codes: commune 1 has two rows (the first wins), commune 2 none */
	for (int j = 0; j < g->ncom; j++) {
		if (j == 2)
			continue;
		row_begin(T_CP);
		f_int(new_id(T_CP));
		f_str(g->com_code[j]);
		f_str(g->com_cp[j]);
		f_str(g->com_lib[j]);
		row_end();
		if (j == 1) {
			char cedex[32];
			snprintf(cedex, sizeof cedex, "%.3s%s", g->com_cp[j],
			         strcmp(g->com_cp[j] + 3, "99") ? "99" : "98");
			row_begin(T_CP);
			f_int(new_id(T_CP));
			f_str(g->com_code[j]);
			f_str(cedex);
			f_strf("%s Cedex", g->com_lib[j]);
			row_end();
		}
	}
	/* administration */
	long long ega = new_id(T_EGA);
	row_begin(T_EGA);
	f_int(ega);
	f_str(chance(&r, 70) ? "Cité administrative" : NULL);
	{
		int num = rng_range(&r, 1, 40);
		f_strf("%d %s", num, STREETS[rnd(&r, N_STREETS)]);
	}
	f_null();
	f_str(chance(&r, 50) ? "CS 20001" : NULL);
	f_str(g->com_cp[0]);
	f_str(g->com_lib[0]);
	f_int(0);
	row_end();
	g->eg_id = new_id(T_EG);
	row_begin(T_EG);
	f_int(g->eg_id);
	f_strf("DD%s%s", strlen(dd->code) == 2 ? "0" : "", dd->code);
	f_strf("%s %s", strlen(dd->code) == 3 ? "DEAL" : "DDTM", dd->libelle);
	f_int(ega);
	f_int(0);
	row_end();
}

static void gen_shared_administrations(void)
{
	static const struct {
		const char *code, *nom, *l1, *l2, *cp, *ville;
	} S[2] = {
	        {"DGALN-DHUP", "DGALN - Direction de l'habitat (DHUP)", "Tour Séquoia",
	         "1 PLACE CARPEAUX", "92800", "PUTEAUX"},
	        {"DELEG-NAT", NULL, NULL, NULL, "75007", "PARIS"},
	};
	for (int i = 0; i < 2; i++) {
		long long ega = new_id(T_EGA);
		row_begin(T_EGA);
		f_int(ega);
		f_str(S[i].l1);
		f_str(S[i].l2);
		f_null();
		f_null();
		f_str(S[i].cp);
		f_str(S[i].ville);
		f_int(0);
		row_end();
		eg_shared[i] = new_id(T_EG);
		row_begin(T_EG);
		f_int(eg_shared[i]);
		f_str(S[i].code);
		f_str(S[i].nom);
		f_int(ega);
		f_int(0);
		row_end();
	}
}

static int bailleur_kind(int b)
{
	static const int first[10] = {K_LONGCONTACTS, K_NORMAL,       K_SAMESIREN, K_SIREN_NULL,
	                              K_SIREN_EMPTY,  K_SIREN_SPACES, K_PERSONNE,  K_NOTHING,
	                              K_ANAH,         K_611};
	if (b < 10)
		return first[b];
	switch (b % 20) {
	case 10:
		return K_ANAH;
	case 13:
		return K_SAMESIREN;
	case 15:
		return K_SIREN_NULL;
	case 16:
		return K_SIREN_EMPTY;
	case 17:
		return K_PERSONNE;
	case 18:
		return K_NOTHING;
	case 19:
		return K_611;
	default:
		return K_NORMAL;
	}
}

static void siren_of(int b, char out[16])
{
	snprintf(out, 16, "%09lld", 200000000LL + (long long)b * 7919LL % 700000000LL);
}

static void gen_contact(Rng *r, long long bid, const char *nom, const char *prenom, int civ)
{
	row_begin(T_CONTACT);
	f_int(new_id(T_CONTACT));
	f_str(nom);
	f_str(prenom);
	f_int(bid);
	f_ref(civ < 0 ? 0 : vps_id[VPS_CIV + civ]);
	f_int(rnd(r, 3));
	row_end();
}

static void gen_bailleurs(int total_conventions)
{
	static const char *const ODD_NAMES[] = {
	        "  Les Résidences d'Armor & Cie (S.A.)  ",
	        "Association « Toit pour tous » – Hébergement",
	        "S.C.I. L'Étoile / Les Pêcheurs ; n° 12",
	};
	nbail = total_conventions / 5;
	if (nbail < 10)
		nbail = 10;
	bail_id = calloc((size_t)nbail, sizeof *bail_id);
	if (bail_id == NULL)
		die("out of memory");
	for (int b = 0; b < nbail; b++) {
		Rng r = rng_derive(opt_seed, 0xBA11E0, (uint64_t)b);
		int kind = bailleur_kind(b);
		char siren[16], siret[24], pers[16], rs[128];
		const char *csiren = NULL, *csiret = NULL, *cpers = NULL;
		int snb;
		const City *city = &CITIES[rnd(&r, N_CITIES)];

		siren_of(b, siren);
		snprintf(siret, sizeof siret, "%s%05d", siren, 10000 + b % 90000);
		snprintf(pers, sizeof pers, "%010d", 4000000 + b);
		{
			/* "de Évreux" -> "d'Évreux" */
			const char *pre = BAILLEUR_PREFIX[rnd(&r, N_BAILLEUR_PREFIX)];
			size_t pl = strlen(pre);
			int elide = pl > 3 && strcmp(pre + pl - 3, " de") == 0 &&
			            strchr("AEIOUÉ", city->name[0]) != NULL;
			if (elide)
				snprintf(rs, sizeof rs, "%.*sd'%s", (int)(pl - 2), pre, city->name);
			else
				snprintf(rs, sizeof rs, "%s %s", pre, city->name);
		}
		{
			static const int HLM[] = {SNB_120, SNB_120, SNB_120, SNB_114, SNB_114,
			                          SNB_110, SNB_112, SNB_130, SNB_140, SNB_210};
			snb = chance(&r, 75) ? HLM[rnd(&r, 10)] : rnd(&r, SNB_611);
		}
		switch (kind) {
		case K_LONGCONTACTS:
			snb = SNB_120;
			csiren = siren;
			csiret = siret;
			break;
		case K_NORMAL:
			csiren = siren;
			csiret = siret;
			if (b % 20 == 11)
				snb = SNB_999;
			break;
		case K_SAMESIREN:
			siren_of(b - 1, siren);
			snprintf(siret, sizeof siret, "%s%05d", siren, 10000 + b % 90000);
			csiren = siren;
			csiret = siret;
			break;
		case K_SIREN_NULL:
			csiret = siret;
			break;
		case K_SIREN_EMPTY:
			csiren = "";
			csiret = siret;
			if (b == 4)
				snb = SNB_999;
			break;
		case K_SIREN_SPACES:
			csiren = "  ";
			csiret = siret;
			break;
		case K_PERSONNE:
			cpers = pers;
			snb = SNB_312;
			break;
		case K_NOTHING:
			snprintf(rs, sizeof rs, "%s", ODD_NAMES[(b / 10) % 3]);
			snb = 12; /* 322 association */
			break;
		case K_ANAH:
			snprintf(rs, sizeof rs, "ANAH");
			snb = SNB_611;
			break;
		case K_611:
			cpers = pers;
			const char *nom = NOMS[rnd(&r, N_NOMS)];
			snprintf(rs, sizeof rs, "%s %s", nom, PRENOMS[rnd(&r, N_PRENOMS)]);
			snb = SNB_611;
			break;
		}
		long long adr = 0;
		if (kind != K_ANAH && chance(&r, 85)) {
			adr = new_id(T_ABAIL);
			row_begin(T_ABAIL);
			f_int(adr);
			f_str(chance(&r, 60) ? NULL : "Service gestion locative");
			f_str(chance(&r, 30) ? "BP 1234" : NULL);
			int num = rng_range(&r, 1, 120);
			f_strf("%d %s", num, STREETS[rnd(&r, N_STREETS)]);
			f_null();
			f_str(chance(&r, 5) ? NULL : city->cp);
			f_str(city->upper);
			f_int(0);
			row_end();
		}
		bail_id[b] = new_id(T_BAIL);
		row_begin(T_BAIL);
		f_int(bail_id[b]);
		f_str(csiren);
		f_str(csiret);
		f_str(cpers);
		f_str(rs);
		if (chance(&r, 10))
			f_null();
		else
			f_date(days_from_civil(2005, 1, 1) + rnd(&r, 20 * 365));
		f_int(snb_id[snb]);
		f_ref(adr);
		f_int(dep_id[gdeps[b % ngdeps].def]);
		f_int(rnd(&r, 300));
		row_end();

		/* contacts */
		if (kind == K_LONGCONTACTS) {
			for (int c = 0; c < 7; c++) {
				char nom[128], prenom[64];
				snprintf(nom, sizeof nom, "de La Tour d'Auvergne-Lauraguais %s-%s",
				         NOMS[c % N_NOMS], NOMS[(c + 5) % N_NOMS]);
				snprintf(prenom, sizeof prenom, "%s-%s", PRENOMS[c % N_PRENOMS],
				         PRENOMS[(c + 3) % N_PRENOMS]);
				gen_contact(&r, bail_id[b], nom, prenom, c % 2);
			}
		} else if (kind != K_ANAH) {
			int nc = rnd(&r, 4);
			for (int c = 0; c < nc; c++) {
				int p = rnd(&r, 100);
				int civ = p < 45 ? 0 : p < 90 ? 1 : p < 97 ? -1 : 2;
				const char *nom = NOMS[rnd(&r, N_NOMS)];
				const char *prenom =
				        chance(&r, 6) ? NULL : PRENOMS[rnd(&r, N_PRENOMS)];
				gen_contact(&r, bail_id[b], nom, prenom, civ);
			}
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Conventions: a plan (iterations, avenants, financement lines), then rows  */
/* ------------------------------------------------------------------------ */

#define MAXL 6 /* programme lines per CDG */
#define MAXCDG 16
#define MAXAV 6
#define MAXSTEPS (MAXCDG + MAXAV)

typedef struct {
	int tf;    /* TF_* */
	int com;   /* commune index in the département */
	int owner; /* bailleur pool index */
} Line;

typedef struct {
	int av;   /* -1: non-avenant iteration, else avenant index */
	int etat; /* ECO_* */
	int sig;  /* 0 none, 1 entité only, 2 préfet only, 3 both */
	int nl;
	Line l[MAXL];
	int step;
	int date;
	long long id;
} PCdg;

typedef struct {
	int etat, sig; /* état of its CDGs, signature of the avenant */
	int step;      /* its own step when it has no CDG, else its first CDG's */
	int ncdg;
	int date;
	long long id;
} PAv;

typedef struct {
	int k; /* scenario (i % 50), -1 for the bad row */
	int ncdg;
	PCdg c[MAXCDG];
	int nav;
	PAv a[MAXAV];
	int nsteps;
	int small_gap[MAXSTEPS];
	int nbase;
	Line base[MAXL];
	int com, owner, gest; /* gest: -1 none */
	int nature;           /* NATURES index */
	int nop;              /* NOP index (0..7), -1 NULL everywhere */
	int derog;            /* 0 none, 1 ind 9999.99, 2 col 6.45, 3 bad, 4 small */
	int spec_cdg;         /* CDG whose first programme gets k's special children */
	long long eg;
	int noreg_null;
	int res; /* RESIDENCES index of its programmes */
} Plan;

static Line mkline(int tf, int com, int owner)
{
	Line l = {tf, com, owner};
	return l;
}

static PCdg *plan_cdg(Plan *p, int av, int etat, int sig)
{
	if (p->ncdg >= MAXCDG || p->nsteps >= MAXSTEPS)
		die("internal error: too many CDGs");
	PCdg *c = &p->c[p->ncdg++];
	memset(c, 0, sizeof *c);
	c->av = av;
	c->etat = etat;
	c->sig = sig;
	c->nl = p->nbase;
	memcpy(c->l, p->base, sizeof p->base);
	c->step = p->nsteps++;
	return c;
}

static PCdg *plan_root(Plan *p, int etat, int sig)
{
	return plan_cdg(p, -1, etat, sig);
}

/* adds avenant number nav+1 with ncdg CDG rows; returns its first CDG or NULL */
static PCdg *plan_avenant(Plan *p, int ncdg, int etat, int sig)
{
	if (p->nav >= MAXAV)
		die("internal error: too many avenants");
	int a = p->nav++;
	PAv *av = &p->a[a];
	memset(av, 0, sizeof *av);
	av->etat = etat;
	av->sig = sig;
	av->ncdg = ncdg;
	if (ncdg == 0) {
		av->step = p->nsteps++;
		return NULL;
	}
	PCdg *first = NULL;
	for (int i = 0; i < ncdg; i++) {
		PCdg *c = plan_cdg(p, a, etat, sig);
		if (i > 0)
			p->small_gap[c->step] = 1;
		else
			first = c;
	}
	av->step = first->step;
	return first;
}

static void add_line(PCdg *c, Line l)
{
	if (c->nl >= MAXL)
		die("internal error: too many lines");
	c->l[c->nl++] = l;
}

static int signed_sig(Rng *r)
{
	return chance(r, 70) ? 3 : chance(r, 80) ? 2 : 1;
}

static int pick_nop(Rng *r)
{
	int x = rnd(r, 100);
	return x < 55   ? 0
	       : x < 75 ? 2
	       : x < 83 ? 1
	       : x < 88 ? 4
	       : x < 92 ? 6
	       : x < 95 ? 3
	       : x < 97 ? 5
	       : x < 98 ? 7
	                : -1;
}

static void plan_random(Plan *p, Rng *r, GenDep *g)
{
	int x = rnd(r, 100);
	int plus_tf = chance(r, 85) ? TF_1 : chance(r, 50) ? TF_2 : TF_3;
	if (x < 60) {
		p->base[p->nbase++] = mkline(plus_tf, p->com, p->owner);
	} else if (x < 78) {
		p->base[p->nbase++] = mkline(plus_tf, p->com, p->owner);
		p->base[p->nbase++] = mkline(chance(r, 80) ? TF_5 : TF_6, p->com, p->owner);
	} else if (x < 86) {
		p->base[p->nbase++] = mkline(chance(r, 70) ? TF_5 : TF_7, p->com, p->owner);
	} else if (x < 92) {
		p->base[p->nbase++] = mkline(chance(r, 80) ? TF_11 : TF_12, p->com, p->owner);
	} else if (x < 95) {
		p->base[p->nbase++] = mkline(chance(r, 80) ? TF_14 : TF_15, p->com, p->owner);
	} else if (x < 97) {
		p->base[p->nbase++] = mkline(TF_1, p->com, p->owner);
		p->base[p->nbase++] = mkline(TF_11, p->com, p->owner);
	} else {
		p->base[p->nbase++] = mkline(TF_22, p->com, p->owner);
	}
	if (chance(r, 10)) /* two lines of the same financement */
		p->base[p->nbase++] = p->base[0];
	if (chance(r, 8))
		p->nature = 1 + rnd(r, N_NATURES - 1);
	if (chance(r, 4))
		p->derog = 4;
	(void)g;

	if (chance(r, 10)) { /* a renewal: an older non-avenant iteration */
		int etat_old = chance(r, 50) ? ECO_OPP : ECO_INS;
		PCdg *old = plan_root(p, etat_old, signed_sig(r));
		if (chance(r, 30))
			add_line(old, mkline(TF_5, p->com, p->owner));
	}
	int e = rnd(r, 100), etat, sig;
	if (e < 80) {
		etat = ECO_OPP;
		sig = signed_sig(r);
	} else if (e < 87) {
		etat = ECO_INS;
		sig = rnd(r, 4);
	} else if (e < 92) {
		etat = ECO_RES;
		sig = signed_sig(r);
	} else if (e < 96) {
		etat = ECO_DEN;
		sig = signed_sig(r);
	} else {
		etat = ECO_ANS;
		sig = signed_sig(r);
	}
	plan_root(p, etat, sig);
	int a = rnd(r, 100);
	int nav = a < 40 ? 0 : a < 65 ? 1 : a < 80 ? 2 : a < 92 ? 3 : 4;
	for (int j = 0; j < nav; j++) {
		int last = j == nav - 1;
		int own = chance(r, 86);
		int ins = last && chance(r, 10);
		PCdg *c = plan_avenant(p, own ? 1 : 0, ins ? ECO_INS : ECO_OPP,
		                       ins ? 0 : signed_sig(r));
		if (c && chance(r, 10))
			add_line(c, mkline(TF_5, p->com, p->owner));
	}
}

/* builds the plan of scenario k (see the comment at the top) */
static void plan_convention(Plan *p, Rng *r, GenDep *g, int k, int i)
{
	memset(p, 0, sizeof *p);
	p->k = k;
	p->spec_cdg = -1;
	p->gest = -1;
	p->com = chance(r, 40) ? 0 : rnd(r, g->ncom);
	if (k == 33)
		p->com = 2;
	else if (k == 34)
		p->com = 1;
	p->owner = rnd(r, nbail);
	if (chance(r, 15))
		p->gest = rnd(r, nbail);
	p->nop = pick_nop(r);
	int e = rnd(r, 100);
	p->eg = e < 88 ? g->eg_id : e < 97 ? eg_shared[0] : eg_shared[1];
	p->noreg_null = k == 34;
	p->res = rnd(r, N_RESIDENCES);

	if (k < 0) { /* the bad row */
		p->owner = 1;
		p->com = 0;
		p->eg = g->eg_id;
		p->derog = 3;
		p->base[p->nbase++] = mkline(TF_1, p->com, p->owner);
		plan_root(p, ECO_OPP, 3);
		return;
	}
	if (k >= 39) {
		plan_random(p, r, g);
		return;
	}
	int com2 = (p->com + 1) % g->ncom;
	int owner2 = (p->owner + 1 + rnd(r, nbail - 1)) % nbail;
	Line plus = mkline(TF_1, p->com, p->owner);
	Line plai = mkline(TF_5, p->com, p->owner);
	PCdg *c, *root;
	p->base[p->nbase++] = plus;

	switch (k) {
	case 0:
		plan_root(p, ECO_OPP, 3);
		break;
	case 1:
		p->base[p->nbase++] = plai;
		plan_root(p, ECO_OPP, 3);
		plan_avenant(p, 1, ECO_OPP, 3);
		plan_avenant(p, 1, ECO_OPP, 2);
		break;
	case 2:
		plan_root(p, ECO_OPP, 3);
		plan_avenant(p, 1, ECO_OPP, 3);
		plan_avenant(p, 0, ECO_OPP, 2);
		plan_avenant(p, 1, ECO_OPP, 3);
		break;
	case 3:
		c = plan_root(p, ECO_INS, 1);
		add_line(c, plai);
		plan_root(p, ECO_OPP, 3);
		plan_root(p, ECO_OPP, 3);
		plan_avenant(p, 1, ECO_OPP, 3);
		break;
	case 4:
		plan_root(p, ECO_OPP, 3);
		plan_root(p, ECO_ANI, 0);
		plan_avenant(p, 1, ECO_OPP, 3);
		break;
	case 5:
		plan_root(p, ECO_ANI, 0);
		plan_root(p, ECO_ANI, 1);
		plan_avenant(p, 1, ECO_OPP, 3);
		plan_avenant(p, 1, ECO_OPP, 3);
		break;
	case 6:
		plan_root(p, ECO_ANI, 0);
		plan_avenant(p, 0, ECO_OPP, 2);
		plan_avenant(p, 1, ECO_OPP, 3);
		break;
	case 7:
		plan_root(p, ECO_OPP, 3);
		plan_avenant(p, 2, ECO_OPP, 3);
		plan_avenant(p, 1, ECO_OPP, 3);
		break;
	case 8:
		p->base[p->nbase++] = mkline(i % 150 < 50    ? TF_18
		                             : i % 150 < 100 ? TF_22
		                                             : TF_93,
		                             p->com, p->owner);
		plan_root(p, ECO_OPP, 3);
		plan_avenant(p, 1, ECO_OPP, 3);
		break;
	case 9:
		plan_root(p, ECO_OPP, 3);
		c = plan_avenant(p, 1, ECO_OPP, 3);
		add_line(c, plai);
		c = plan_avenant(p, 1, ECO_OPP, 3);
		add_line(c, plai);
		break;
	case 10:
		root = plan_root(p, ECO_OPP, 3);
		add_line(root, mkline(TF_1, com2, p->owner));
		add_line(root, plai);
		c = plan_avenant(p, 1, ECO_OPP, 3);
		add_line(c, plai);
		break;
	case 11:
		root = plan_root(p, ECO_OPP, 3);
		add_line(root, mkline(TF_2, p->com, owner2));
		plan_avenant(p, 1, ECO_OPP, 3);
		break;
	case 12:
		root = plan_root(p, ECO_OPP, 3);
		add_line(root, plus);
		add_line(root, mkline(TF_2, p->com, p->owner));
		c = plan_avenant(p, 1, ECO_OPP, 3);
		add_line(c, plus);
		break;
	case 13:
		plan_root(p, ECO_INS, 0);
		break;
	case 14:
		plan_root(p, ECO_INS, 1);
		break;
	case 15:
		plan_root(p, ECO_RES, 3);
		break;
	case 16:
		plan_root(p, ECO_DEN, 3);
		break;
	case 17:
		plan_root(p, ECO_ANS, 3);
		break;
	case 18:
	case 19:
	case 20:
	case 21:
	case 22:
	case 23: {
		static const int NOP_OF[6] = {6, 4, 0, 1, 2, 3}; /* 80 5 1 2 3 4 */
		p->nature = k - 17;
		p->nop = NOP_OF[k - 18];
		if (k == 18)
			p->gest = (p->owner + 3) % nbail;
		plan_root(p, ECO_OPP, 3);
		if (chance(r, 50))
			plan_avenant(p, 1, ECO_OPP, 3);
		break;
	}
	case 24:
		p->nop = -1;
		plan_root(p, ECO_OPP, 3);
		break;
	case 25:
		p->derog = 1;
		plan_root(p, ECO_OPP, 3);
		break;
	case 26:
		p->derog = 2;
		plan_root(p, ECO_OPP, 3);
		break;
	case 27:
		p->base[0] = mkline(TF_11, p->com, p->owner);
		p->base[p->nbase++] = mkline(TF_22, p->com, p->owner);
		plan_root(p, ECO_OPP, 3);
		c = plan_avenant(p, 1, ECO_OPP, 3);
		add_line(c, mkline(TF_14, p->com, p->owner));
		break;
	case 28:
		root = plan_root(p, ECO_OPP, 3);
		root->l[0].tf = TF_93;
		plan_avenant(p, 1, ECO_OPP, 3);
		plan_avenant(p, 1, ECO_OPP, 3);
		break;
	case 29:
		p->base[p->nbase++] = plai;
		plan_root(p, ECO_OPP, 3);
		plan_avenant(p, 0, ECO_OPP, 3);
		plan_avenant(p, 0, ECO_OPP, 2);
		plan_avenant(p, 1, ECO_OPP, 3);
		plan_avenant(p, 1, ECO_OPP, 3);
		break;
	case 32:
		p->base[p->nbase++] = plus;
		/* fall through */
	case 30:
	case 31:
	case 33:
	case 34:
	case 35:
	case 36:
	case 37:
		if (k == 36) {
			p->owner = 8;
			p->gest = 0;
		} else if (k == 37) {
			p->owner = 7;
			p->gest = 9;
			p->eg = eg_shared[1];
		}
		for (int j = 0; j < p->nbase; j++)
			p->base[j].owner = p->owner;
		plan_root(p, ECO_OPP, 3);
		p->spec_cdg = p->ncdg - 1;
		break;
	case 38:
		plan_root(p, ECO_OPP, 3);
		plan_avenant(p, 1, ECO_INS, 0);
		break;
	default:
		die("internal error: unknown scenario");
	}
}

/* ------------------------------------------------------------------------ */
/* Rows of one convention                                                   */
/* ------------------------------------------------------------------------ */

static int pick_tlo(Rng *r)
{
	int x = rnd(r, 100);
	return x < 3    ? TLO_ST1
	       : x < 13 ? TLO_T1
	       : x < 15 ? TLO_T1P
	       : x < 18 ? TLO_T1B
	       : x < 43 ? TLO_T2
	       : x < 73 ? TLO_T3
	       : x < 90 ? TLO_T4
	       : x < 97 ? TLO_T5
	                : TLO_T6;
}

static const int SURF_LO[N_TLO] = {18, 25, 28, 30, 42, 58, 72, 88, 105};
static const int SURF_HI[N_TLO] = {28, 35, 36, 40, 55, 75, 90, 110, 140};

/* a random plafond de loyer in euros per m2 with 6 decimals, or NULL */
static void f_plafond(Rng *r, int pct)
{
	if (chance(r, pct)) {
		long long units = rng_range(r, 3, 9);
		f_fix(units * 1000000 + rnd(r, 1000000), 6);
	} else {
		f_null();
	}
}

static void gen_annexe(Rng *r, long long plid, int tan, int nombre, int day)
{
	row_begin(T_ANX);
	f_int(new_id(T_ANX));
	if (nombre < 0)
		f_null();
	else
		f_int(nombre);
	if (chance(r, 60))
		f_fix(rng_range(r, 500, 6000), 2);
	else
		f_null();
	f_int(vps_id[VPS_TAN + tan - 1]);
	f_int(plid);
	f_int(chance(r, 20) ? 0 : ms_of(r, clamp_day(day + rnd(r, 400))));
	f_int(0);
	row_end();
}

static void gen_cadastre(long long plid, const char *section, const char *parcelle,
                         const char *superficie)
{
	row_begin(T_IC);
	f_int(new_id(T_IC));
	f_str(section);
	f_str(parcelle);
	f_num(superficie);
	f_int(plid);
	f_int(0);
	row_end();
}

static void gen_itl(long long plid, int tlo, int ind, int col)
{
	row_begin(T_ITL);
	f_int(new_id(T_ITL));
	if (ind < 0)
		f_null();
	else
		f_int(ind);
	if (col < 0)
		f_null();
	else
		f_int(col);
	f_int(plid);
	f_int(vps_id[VPS_TLO + tlo]);
	f_int(0);
	row_end();
}

/* programme-logement line j of CDG ci, with its children */
static void gen_programme(Rng *r, const Plan *p, const GenDep *g, int ci, int j,
                          const char *depcode)
{
	const PCdg *c = &p->c[ci];
	const Line *ln = &c->l[j];
	int spec = ci == p->spec_cdg ? p->k : -1; /* special programme(s) */
	int first = spec >= 0 && j == 0;
	long long plid = new_id(T_PL);
	int n = spec == 32 ? 8 : rng_range(r, 2, opt_max_logements);
	int mode; /* 0 collective, 1 individual, 2 mixed */
	if (p->derog == 1 || p->derog == 3)
		mode = 1;
	else if (p->derog == 2)
		mode = 0;
	else {
		int x = rnd(r, 100);
		mode = x < 70 ? 0 : x < 90 ? 1 : 2;
	}

	/* logements */
	long long s_hab = 0, s_util = 0, s_corr = 0;
	int nind = 0, ncol = 0;
	int counts[N_TLO][2];
	memset(counts, 0, sizeof counts);
	int rate = rng_range(r, 450, 900); /* cents per m2 */
	for (int li = 0; li < n; li++) {
		int t = spec == 32 ? (j + li) % N_TLO : pick_tlo(r);
		int ind = mode == 1 || (mode == 2 && li < n / 2);
		counts[t][ind]++;
		if (ind)
			nind++;
		else
			ncol++;
		long long hab = (long long)rng_range(r, SURF_LO[t], SURF_HI[t]) * 100;
		hab += rnd(r, 100);
		long long ann = chance(r, 60) ? rnd(r, 1500) : -1;
		long long util = hab + (ann > 0 ? ann / 2 : 0);
		long long corr = chance(r, 50) ? -1 : hab + rnd(r, 1500);
		s_hab += hab;
		s_util += util;
		if (corr > 0)
			s_corr += corr;
		static const char *const BAT[] = {"A", "B", "C", "1", "2", "D"};
		static const char *const ETAGE[] = {"RDC", "1", "2", "3", "4", "5", "SS"};
		int sp1 = first && p->k == 32 && li == 0;
		int sp2 = first && p->k == 32 && li == 1;

		row_begin(T_LOG);
		f_int(new_id(T_LOG));
		f_str(sp1 || chance(r, 30) ? NULL : BAT[rnd(r, 6)]);
		f_str(sp1 || chance(r, 50) ? NULL : rnd(r, 2) ? "1" : "2");
		f_str(sp1 || chance(r, 20) ? NULL : ETAGE[rnd(r, 7)]);
		if (sp1 || chance(r, 10))
			f_null();
		else
			f_strf("%d", rng_range(r, 1, 999));
		/* surfacehabitable, surfaceannexe, surfaceutile, surfacecorrigee */
		if (sp1)
			f_num("2.675");
		else if (sp2)
			f_null();
		else
			f_fix(hab, 2);
		if (sp1 || ann < 0)
			f_null();
		else
			f_fix(ann, 2);
		if (sp1)
			f_num("12345.678");
		else
			f_fix(util, 2);
		if (sp1 || corr < 0)
			f_null();
		else
			f_fix(corr, 2);
		/* coefficientmodulation */
		if (sp1)
			f_num("1.2345");
		else if (chance(r, 20))
			f_null();
		else
			f_fix(rng_range(r, 8000, 12000), 4);
		/* montantloyer */
		long long mill = util * rate / 10; /* thousandths of euro */
		if (sp1)
			f_num("312.455");
		else if (sp2)
			f_num("0.125");
		else if (chance(r, 30))
			f_fix(mill, 3);
		else
			f_fix(mill / 10, 2);
		f_int(plid);
		f_int(vps_id[VPS_TLO + t]);
		f_int(sp1 || chance(r, 15) ? 0 : ms_of(r, clamp_day(c->date + rnd(r, 700))));
		f_int(rnd(r, 5));
		row_end();
	}

	/* the programme-logement row */
	row_begin(T_PL);
	f_int(plid);
	{
		int x = rnd(r, 100);
		if (spec == 34 || x < 35)
			f_null();
		else if (x < 50)
			f_str("");
		else if (x < 55)
			f_str("  ");
		else if (j == 0)
			f_str(RESIDENCES[p->res]);
		else
			f_strf("%s (tranche %d)", RESIDENCES[p->res], j + 1);
	}
	f_int(j + 1);
	f_date(chance(r, 70) ? clamp_day(c->date + rng_range(r, 200, 900)) : NODATE);
	if (chance(r, 5))
		f_null();
	else
		f_fix(s_hab, 2);
	if (chance(r, 50))
		f_num("0");
	else
		f_fix(s_corr, 2);
	if (chance(r, 5))
		f_null();
	else
		f_fix(s_util, 2);
	/* logementsnombretotal, ind, col */
	if (chance(r, 10))
		f_null();
	else
		f_int(n);
	if (nind == 0 && chance(r, 30))
		f_null();
	else
		f_int(nind);
	if (ncol == 0 && chance(r, 30))
		f_null();
	else
		f_int(ncol);
	if (chance(r, 60))
		f_int(n / 4);
	else
		f_null();
	/* estderogationloyer */
	if (p->derog)
		f_bool(1);
	else
		f_bool(chance(r, 15) ? -1 : 0);
	int fdate = chance(r, 75) ? clamp_day(c->date - rng_range(r, 30, 700)) : NODATE;
	f_date(fdate);
	if (chance(r, 70))
		f_strf("%04d %s %05d", year_of(fdate != NODATE ? fdate : c->date), depcode,
		       rnd(r, 100000));
	else
		f_null();
	/* montantplafondloyerindinitial, montantplafondloyercolinitial */
	switch (p->derog) {
	case 1:
		f_num("9999.99");
		f_null();
		break;
	case 2:
		f_null();
		f_num("6.45");
		break;
	case 3:
		f_num("12345.5");
		f_null();
		break;
	case 4:
		f_fix(rng_range(r, 500, 1200), 2);
		f_fix(rng_range(r, 500, 1200), 2);
		break;
	default:
		f_plafond(r, 70);
		f_plafond(r, 70);
		break;
	}
	if (chance(r, 50))
		f_date(fdate != NODATE ? clamp_day(fdate + rnd(r, 200)) : c->date);
	else
		f_null();
	f_int(c->id);
	f_int(tf_id[ln->tf]);
	if (p->nop < 0 || chance(r, 3))
		f_null();
	else
		f_int(vps_id[VPS_NOP + p->nop]);
	f_int(g->com_id[ln->com]);
	if (p->gest >= 0 && (p->k == 18 || p->k == 36 || p->k == 37 || chance(r, 70)))
		f_int(bail_id[p->gest]);
	else
		f_null();
	f_int(bail_id[ln->owner]);
	f_int(rnd(r, 10));
	row_end();

	/* addresses */
	int na;
	if (first && p->k == 33)
		na = 2;
	else if (first && p->k == 34)
		na = 0;
	else {
		int x = rnd(r, 100);
		na = x < 20 ? 0 : x < 85 ? 1 : 2;
	}
	for (int a = 0; a < na; a++) {
		int sp = first && p->k == 33;
		row_begin(T_PADR);
		f_int(new_id(T_PADR));
		if (sp && a == 0) {
			f_str("");
			f_str("");
			f_null();
			f_null();
			f_null();
		} else {
			int x = rnd(r, 100);
			if (x < 10)
				f_str("");
			else if (x < 15)
				f_null();
			else {
				int num = rng_range(r, 1, 150);
				f_strf("%d %s", num, STREETS[rnd(r, N_STREETS)]);
			}
			x = rnd(r, 100);
			if (x < 70)
				f_null();
			else if (x < 80)
				f_str("");
			else
				f_strf("Bâtiment %c", 'A' + rnd(r, 4));
			f_str(chance(r, 85) ? NULL : "Lieu-dit Kerbrat");
			f_str(chance(r, 95) ? NULL : "");
			f_str(sp || chance(r, 30) ? NULL : g->com_cp[ln->com]);
		}
		f_str(g->com_lib[ln->com]);
		f_int(chance(r, 25) ? 0 : ms_of(r, c->date));
		f_int(plid);
		f_int(0);
		row_end();
	}

	/* annexes */
	if (p->k == 18) {
		static const int FIX[6][2] = {{2, 12}, {2, 3}, {1, 1}, {7, 1}, {5, 1}, {8, 2}};
		for (int a = 0; a < 6; a++)
			gen_annexe(r, plid, FIX[a][0], FIX[a][1], c->date);
	} else if (chance(r, 55)) {
		int nx = rng_range(r, 1, 3);
		for (int a = 0; a < nx; a++) {
			int x = rnd(r, 100);
			int tan = x < 30   ? 2
			          : x < 45 ? 1
			          : x < 65 ? 7
			          : x < 75 ? 5
			          : x < 85 ? 8
			          : x < 90 ? 3
			          : x < 93 ? 4
			          : x < 95 ? 6
			                   : 9;
			int nombre = tan == 1 || tan == 2 || tan == 8 ? rng_range(r, 1, n)
			             : chance(r, 50)                  ? 1
			                                              : -1;
			gen_annexe(r, plid, tan, nombre, c->date);
		}
	}

	/* cadastre */
	if (first && p->k == 31) {
		gen_cadastre(plid, "AK", "0194", NULL);
		gen_cadastre(plid, "AK", "12-15", "1103");
		gen_cadastre(plid, "B", "AB", "25000");
		gen_cadastre(plid, "ZC", "00", "1234.56");
	} else {
		static const char *const SECTIONS[] = {"AB", "AK", "ZC", "C",
		                                       "B",  "0A", "YA", "BH"};
		int x = rnd(r, 100);
		int nc = x < 40 ? 0 : x < 85 ? 1 : 2;
		const char *sec = SECTIONS[rnd(r, 8)];
		int num = rng_range(r, 1, 2500);
		for (int a = 0; a < nc; a++) {
			char parc[16], sup[32];
			if (chance(r, 70))
				snprintf(parc, sizeof parc, "%04d", num + a);
			else
				snprintf(parc, sizeof parc, "%d", num + a);
			x = rnd(r, 100);
			if (x < 20)
				gen_cadastre(plid, sec, parc, NULL);
			else {
				if (x < 70)
					snprintf(sup, sizeof sup, "%d", rng_range(r, 100, 30000));
				else {
					int ent = rng_range(r, 100, 30000);
					snprintf(sup, sizeof sup, "%d.%02d", ent, rnd(r, 100));
				}
				gen_cadastre(plid, sec, parc, sup);
			}
		}
	}

	/* infostypelogement: one row per type de logement present */
	if (!chance(r, 10))
		for (int t = 0; t < N_TLO; t++) {
			if (counts[t][0] == 0 && counts[t][1] == 0)
				continue;
			int ind = counts[t][1], col = counts[t][0];
			if (ind == 0 && chance(r, 40))
				ind = -1;
			if (col == 0 && chance(r, 40))
				col = -1;
			gen_itl(plid, t, ind, col);
		}
	if (first && p->k == 31) {
		gen_itl(plid, TLO_ST1, -1, 2);
		gen_itl(plid, TLO_T1, 1, 0);
	}
}

static void gen_pj(long long capl, const char *fichier, const char *desc, int day, int tpj,
                   long long eg)
{
	row_begin(T_PJ);
	f_int(new_id(T_PJ));
	f_str(fichier);
	f_str(desc);
	f_date(day);
	f_int(capl);
	f_int(vps_id[VPS_TPJ + tpj - 1]);
	f_int(eg);
	f_int(0);
	row_end();
}

static void gen_event(Rng *r, long long capl, int tev, int day)
{
	static const char *const DESC[] = {
	        "Dépôt du dossier par le bailleur",  "Envoi en préfecture pour signature",
	        "Retour signé\nà classer",           "Relance du bailleur (courrier du 12/03)",
	        "Publication au SPF\tvolume 2000 P",
	};
	row_begin(T_EV);
	f_int(new_id(T_EV));
	f_date(day);
	f_str(chance(r, 20) ? NULL : DESC[rnd(r, 5)]);
	f_int(capl);
	f_int(vps_id[VPS_TEV + tev]);
	f_int(0);
	row_end();
}

/* convention i of département g (i < 0: the bad row) */
static void gen_convention(GenDep *g, int i)
{
	static Plan plan;
	Plan *p = &plan;
	const char *dep = DEPS[g->def].code;
	int k = i < 0 ? -1 : i % 50;
	Rng r = rng_derive(opt_seed, str_hash(dep), i < 0 ? 0xBADBADULL : (uint64_t)i);

	plan_convention(p, &r, g, k, i);

	/* dates: one step per CDG and per avenant without CDG */
	int off[MAXSTEPS];
	off[0] = 0;
	for (int s = 1; s < p->nsteps; s++)
		off[s] = off[s - 1] +
		         (p->small_gap[s] ? rng_range(&r, 20, 120) : rng_range(&r, 150, 1100));
	int span = off[p->nsteps - 1];
	int lo = DAY_MIN + 60, room = DAY_MAX - 200 - span - lo;
	int start = lo + rnd(&r, room > 1 ? room : 1);

	long long capl = new_id(T_CAPL);
	for (int a = 0; a < p->nav; a++) {
		p->a[a].id = new_id(T_AV);
		p->a[a].date = clamp_day(start + off[p->a[a].step]);
	}
	for (int c = 0; c < p->ncdg; c++) {
		p->c[c].id = new_id(T_CDG);
		p->c[c].date = clamp_day(start + off[p->c[c].step]);
	}
	int d0 = p->c[0].date, dlast = p->c[p->ncdg - 1].date;
	for (int a = 0; a < p->nav; a++)
		if (p->a[a].date > dlast)
			dlast = p->a[a].date;

	/* ecolo_conventionapl */
	int depot = chance(&r, 5) ? NODATE : clamp_day(d0 - rnd(&r, 60));
	row_begin(T_CAPL);
	f_int(capl);
	if (p->noreg_null)
		f_null();
	else {
		int y, m, d;
		civil_from_days(d0, &y, &m, &d);
		int cat = rng_range(&r, 1, 4);
		int n1 = rng_range(&r, 60, 99);
		int n2 = rng_range(&r, 1000, 9999);
		f_strf("%s %d %04d-%02d %d-%d %04d", dep, cat, y, m, n1, n2, i < 0 ? 9999 : i + 1);
	}
	if (i < 0) {
		f_str("BAD");
		f_strf("GEN %s BAD", dep);
	} else {
		f_strf("%d", i + 1);
		f_strf("GEN %s #%04d", dep, i);
	}
	f_date(depot);
	f_date(chance(&r, 10) ? NODATE : clamp_day((depot != NODATE ? depot : d0) + rnd(&r, 400)));
	f_date(chance(&r, 10) ? NODATE : clamp_day(dlast + rnd(&r, 700)));
	{
		int x = rnd(&r, 100);
		f_ref(x < 80 ? p->c[0].id : x < 90 ? p->c[p->ncdg - 1].id : 0);
	}
	f_int(p->eg);
	{
		int x = rnd(&r, 100);
		f_ref(x < 70 ? g->eg_id : x < 80 ? eg_shared[0] : 0);
	}
	f_int(rnd(&r, 40));
	row_end();

	/* ecolo_avenant */
	for (int a = 0; a < p->nav; a++) {
		const PAv *av = &p->a[a];
		row_begin(T_AV);
		f_int(av->id);
		f_int(a + 1);
		f_date(clamp_day(av->date - rng_range(&r, 10, 120)));
		f_date(av->sig & 2 ? clamp_day(av->date + rnd(&r, 90)) : NODATE);
		{
			int x = rnd(&r, 100);
			if (x < 30)
				f_null();
			else if (x < 80)
				f_strf("Avenant n°%d portant sur des travaux de réhabilitation",
				       a + 1);
			else
				f_strf("Avenant %d :\nchangement de bailleur \"%s\"", a + 1,
				       RESIDENCES[p->res]);
		}
		f_int(capl);
		f_int(p->eg);
		f_int(rnd(&r, 5));
		row_end();
	}

	/* ecolo_conventiondonneesgenerales, then programmes */
	for (int ci = 0; ci < p->ncdg; ci++) {
		const PCdg *c = &p->c[ci];
		row_begin(T_CDG);
		f_int(c->id);
		f_date(c->date);
		if (ci + 1 < p->ncdg)
			f_date(p->c[ci + 1].date - 1);
		else if (chance(&r, 40))
			f_null();
		else {
			int y = year_of(c->date) + rng_range(&r, 9, 30);
			f_date(days_from_civil(y > 2040 ? 2040 : y, 6, 30));
		}
		f_date(c->sig & 1 ? clamp_day(c->date - rnd(&r, 30)) : NODATE);
		int sigp = c->sig & 2 ? clamp_day(c->date + rnd(&r, 60)) : NODATE;
		f_date(sigp);
		f_date(c->etat == ECO_RES || c->etat == ECO_DEN
		               ? clamp_day(c->date + rng_range(&r, 200, 3000))
		               : NODATE);
		if (c->etat == ECO_OPP && sigp != NODATE && chance(&r, 60)) {
			int pub = clamp_day(sigp + rng_range(&r, 60, 400));
			f_date(pub);
			f_strf("%dP Volume %d", year_of(pub), rng_range(&r, 1000, 9999));
		} else {
			f_null();
			f_null();
		}
		f_int(capl);
		f_int(vps_id[c->etat]);
		f_int(nl_id[p->nature]);
		f_ref(c->av >= 0 ? p->a[c->av].id : 0);
		f_bool(ci == p->ncdg - 1);
		f_int(rnd(&r, 10));
		if (chance(&r, 3)) {
			f_date(clamp_day(c->date + rng_range(&r, 30, 200)));
			f_str("Refus de publication :\n\tacte incomplet \\ pièce manquante");
		} else {
			f_null();
			f_null();
		}
		row_end();
		for (int j = 0; j < c->nl; j++)
			gen_programme(&r, p, g, ci, j, dep);
	}

	/* pièces jointes */
	char name[64], desc[256];
	snprintf(desc, sizeof desc,
	         "Convention issue du cd de numérisation\nConvention portant sur %s à %s",
	         RESIDENCES[p->res], g->com_lib[p->com]);
	if (k == 30) {
		gen_pj(capl, "CV.pdf", desc, d0, 1, p->eg);
		gen_pj(capl, "README", "Fichier sans extension", d0, 6, p->eg);
		gen_pj(capl, NULL, "Pièce sans fichier", d0, 2, p->eg);
		gen_pj(capl, "CV.pdf", "Pièce sans date", NODATE, 1, p->eg);
		gen_pj(capl, "scan.PDF", NULL, clamp_day(d0 + 30), 3, p->eg);
		gen_pj(capl, "Délibération du conseil.pdf", NULL, clamp_day(d0 + 40), 6, p->eg);
		gen_pj(capl, "annexe.documentnumeriseparlaprefecturedeport",
		       "Extension de 37 lettres", clamp_day(d0 + 50), 6, p->eg);
	} else {
		if (chance(&r, 75)) {
			const char *dsc = chance(&r, 50) ? desc : NULL;
			int day = chance(&r, 1) ? NODATE : clamp_day(d0 + rnd(&r, 30));
			gen_pj(capl, "CV.pdf", dsc, day, 1, p->eg);
		}
		for (int a = 0; a < p->nav; a++)
			if (chance(&r, 60)) {
				if (chance(&r, 50))
					snprintf(name, sizeof name, "avenant_%d.pdf", a + 1);
				else
					snprintf(name, sizeof name, "Conv%d-Av%d.pdf",
					         i < 0 ? 0 : i + 1, a + 1);
				const char *dsc =
				        chance(&r, 50) ? NULL : "Avenant signé\npublié au SPF";
				gen_pj(capl, name, dsc, clamp_day(p->a[a].date + rnd(&r, 60)), 4,
				       p->eg);
			}
		if (chance(&r, 15))
			gen_pj(capl, "scan.PDF", NULL, clamp_day(d0 + rnd(&r, 900)), 3, p->eg);
		if (chance(&r, 10))
			gen_pj(capl, "photo façade.jpg", "Photo", clamp_day(d0 + rnd(&r, 900)), 5,
			       p->eg);
		if (chance(&r, 5))
			gen_pj(capl, "rectificatif.pdf", NULL, clamp_day(d0 + rnd(&r, 900)), 2,
			       p->eg);
		if (chance(&r, 5))
			gen_pj(capl, "courrier.docx", NULL, clamp_day(d0 + rnd(&r, 900)), 6, p->eg);
	}

	/* évènements (TEV offsets: 0..23 = codes 1..21, 25, 26, 36; 24 '99'; 25 '01') */
	if (k == 35) {
		static const int FIX[7] = {0, 3, 23, 24, 25, 10, 2};
		for (int e = 0; e < 7; e++)
			gen_event(&r, capl, FIX[e], e == 1 ? NODATE : clamp_day(d0 + 10 * e));
	} else {
		static const int NORMAL[] = {0,  3,  4,  5,  6,  7,  8,  9,  11, 12,
		                             13, 14, 15, 16, 17, 18, 19, 20, 22, 23};
		int x = rnd(&r, 100);
		int ne = x < 35 ? 0 : x < 60 ? 1 : x < 80 ? 2 : x < 92 ? 3 : 4;
		for (int e = 0; e < ne; e++) {
			int y = rnd(&r, 100), tev;
			if (y < 3)
				tev = 24 + rnd(&r, 2);
			else if (y < 12) {
				static const int SYS[3] = {1, 10, 21};
				tev = SYS[rnd(&r, 3)];
			} else if (y < 15)
				tev = 2;
			else
				tev = NORMAL[rnd(&r, (int)(sizeof NORMAL / sizeof NORMAL[0]))];
			int day = chance(&r, 5)
			                  ? NODATE
			                  : clamp_day(d0 +
			                              rnd(&r, DAY_MAX - d0 > 0 ? DAY_MAX - d0 : 1));
			gen_event(&r, capl, tev, day);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Command line and output                                                  */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fputs("Usage: ecoloweb_gen [--seed N] [--conventions N] "
	      "[--departements 22,29,35,56]\n"
	      "                    [--logements-per-programme N] [--with-bad-rows] [--help]\n"
	      "Writes synthetic Ecoloweb rows (schema ecolo, tables of\n"
	      "tests/ecoloweb_ddl.sql) to stdout as SQL for psql -v ON_ERROR_STOP=1.\n"
	      "  --seed N          PRNG seed, unsigned 64-bit (default 1)\n"
	      "  --conventions N   conventions per département, 0..100000 (default 50)\n"
	      "  --departements L  comma-separated INSEE codes as Ecoloweb stores them:\n"
	      "                    01..19, 2A, 2B, 21..95, 971..974, 976 (default 22,29,35,56)\n"
	      "  --logements-per-programme N\n"
	      "                    most logements of a programme, 2..1000 (default 8)\n"
	      "  --with-bad-rows   add, in the first département, one convention whose\n"
	      "                    montantplafondloyerindinitial (12345.5) does not fit APiLos\n"
	      "  --help            this help\n"
	      "Same arguments, same output (byte for byte).\n",
	      f);
}

static void bad_usage(const char *fmt, const char *arg)
{
	fputs("ecoloweb_gen: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'ecoloweb_gen --help'.\n", stderr);
	exit(2);
}

static int parse_u64(const char *s, uint64_t *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static void parse_departements(const char *list)
{
	char buf[1024];
	if (strlen(list) >= sizeof buf)
		bad_usage("--departements: list too long: '%s'", list);
	snprintf(buf, sizeof buf, "%s", list);
	ngdeps = 0;
	char *s = buf;
	for (;;) {
		char *comma = strchr(s, ',');
		if (comma)
			*comma = '\0';
		int d = find_dep(s);
		if (d < 0)
			bad_usage("--departements: unknown département code '%s' (codes are "
			          "01..19, 2A, 2B, 21..95, 971..974, 976, written exactly)",
			          s);
		for (int i = 0; i < ngdeps; i++)
			if (gdeps[i].def == d)
				bad_usage("--departements: '%s' is listed twice", s);
		memset(&gdeps[ngdeps], 0, sizeof gdeps[ngdeps]);
		gdeps[ngdeps++].def = d;
		if (!comma)
			break;
		s = comma + 1;
	}
}

/* value of option argv[*i] (either "--opt=value" or "--opt value") */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (*i + 1 >= argc)
		bad_usage("option %s needs a value", name);
	return argv[++*i];
}

static int is_opt(const char *arg, const char *name)
{
	size_t n = strlen(name);
	return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static void check_tables(void)
{
	/* the VPS_* offsets must match the VPS table */
	if (strcmp(VPS[VPS_TPJ].subtype, "TPJ") || strcmp(VPS[VPS_TAN].subtype, "TAN") ||
	    strcmp(VPS[VPS_TLO].code, "ST1") || strcmp(VPS[VPS_NOP].subtype, "NOP") ||
	    strcmp(VPS[VPS_CIV].subtype, "CIV") || strcmp(VPS[VPS_TEV].code, "1") ||
	    strcmp(VPS[VPS_TEV + 23].code, "36") || strcmp(VPS[VPS_TEV + 24].code, "99") ||
	    N_TEV != 26 || strcmp(VPS[VPS_NOP + 6].code, "80") ||
	    strcmp(SNBS[SNB_611].code, "611") || strcmp(SNBS[SNB_999].code, "999") ||
	    strcmp(SNBS[SNB_312].code, "312") || strcmp(SNBS[12].code, "322") ||
	    strcmp(VPS[ECO_ANI].code, "ANI") || N_DEPS != 101)
		die("internal error: reference tables out of step");
}

int main(int argc, char **argv)
{
	int have_deps = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (is_opt(a, "--seed")) {
			const char *v = opt_value(argc, argv, &i, "--seed");
			if (parse_u64(v, &opt_seed))
				bad_usage("--seed: not an unsigned 64-bit decimal number: '%s'", v);
		} else if (is_opt(a, "--conventions")) {
			const char *v = opt_value(argc, argv, &i, "--conventions");
			uint64_t n;
			if (parse_u64(v, &n) || n > 100000)
				bad_usage("--conventions: not a number in 0..100000: '%s'", v);
			opt_conventions = (int)n;
		} else if (is_opt(a, "--logements-per-programme")) {
			const char *v = opt_value(argc, argv, &i, "--logements-per-programme");
			uint64_t n;
			if (parse_u64(v, &n) || n < 2 || n > 1000)
				bad_usage(
				        "--logements-per-programme: not a number in 2..1000: '%s'",
				        v);
			opt_max_logements = (int)n;
		} else if (is_opt(a, "--departements")) {
			parse_departements(opt_value(argc, argv, &i, "--departements"));
			have_deps = 1;
		} else if (strcmp(a, "--with-bad-rows") == 0) {
			opt_bad_rows = 1;
		} else if (a[0] == '-') {
			bad_usage("unknown option '%s'", a);
		} else {
			bad_usage("unexpected argument '%s'", a);
		}
	}
	if (!have_deps)
		parse_departements("22,29,35,56");
	check_tables();
	DAY_MIN = days_from_civil(1980, 1, 1);
	DAY_MAX = days_from_civil(2024, 12, 31);

	gen_static_reference();
	for (int d = 0; d < ngdeps; d++)
		gen_departement_reference(&gdeps[d]);
	gen_shared_administrations();
	gen_bailleurs(ngdeps * opt_conventions);
	for (int d = 0; d < ngdeps; d++)
		for (int i = 0; i < opt_conventions; i++)
			gen_convention(&gdeps[d], i);
	if (opt_bad_rows)
		gen_convention(&gdeps[0], -1);

	printf("-- Synthetic Ecoloweb data written by tools/ecoloweb_gen "
	       "(--seed %llu --conventions %d --departements ",
	       (unsigned long long)opt_seed, opt_conventions);
	for (int d = 0; d < ngdeps; d++)
		printf("%s%s", d ? "," : "", DEPS[gdeps[d].def].code);
	if (opt_max_logements != 8)
		printf(" --logements-per-programme %d", opt_max_logements);
	printf("%s)\n-- Load after tests/ecoloweb_ddl.sql with psql -v ON_ERROR_STOP=1.\n",
	       opt_bad_rows ? " --with-bad-rows" : "");
	printf("SET client_encoding = 'UTF8';\nBEGIN;\n");
	for (int t = 0; t < T_COUNT; t++) {
		Table *tb = &tables[t];
		printf("\nCOPY ecolo.%s (%s) FROM stdin;\n", tb->name, tb->cols);
		if (tb->buf.len)
			fwrite(tb->buf.p, 1, tb->buf.len, stdout);
		printf("\\.\n");
	}
	printf("\n-- ecolo_conventionapl.conventioninstruite_id is set in its COPY above:\n"
	       "-- that foreign key is DEFERRABLE INITIALLY DEFERRED, checked here.\n"
	       "COMMIT;\n");
	fflush(stdout);
	if (ferror(stdout)) {
		fprintf(stderr, "ecoloweb_gen: write error on stdout\n");
		return 1;
	}
	return 0;
}
