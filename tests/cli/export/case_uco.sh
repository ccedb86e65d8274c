# --case-uco writes the custody chain as CASE/UCO JSON-LD: valid JSON-LD, every node an IRI and a
# CASE/UCO type, one InvestigativeAction per custody event with performer and time, hashes as
# uco-types:Hash with hexBinary values; rdflib (when installed) reads it as RDF.
source "$(dirname "$0")/../lib.sh"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source src.bin 600000
"$ACQUIRE" src.bin -o img -q --evidence E1 --case 2026-17 --seal-key keys/examiner.key \
  --seal-cert keys/examiner.pem --location 'Lab 3' --jurisdiction DE
"$LOG" add img.aff4 --action transferred --by-key keys/witness.key --by-cert keys/witness.pem -q \
  --organisation 'Demo Police' --jurisdiction FR
run "$EXPORT" img.aff4 --case-uco chain.jsonld
expect_rc 0
events=$("$LOG" show --json img.aff4 | jq '.events | length')
jq -e . chain.jsonld >/dev/null || fail "not JSON"
# Every object with an @type has an @id, and every @type is a CASE or UCO class.
jq -e '[.. | objects | select(has("@type") and (has("@value") | not))] |
  all(has("@id") and (."@type" | test("^(case-investigation|uco-[a-z]+):")))' chain.jsonld \
  >/dev/null || fail "a node lacks an @id or a CASE/UCO type"
[ "$(jq '[."@graph"[] | select(."@type" == "case-investigation:InvestigativeAction")] | length' \
  chain.jsonld)" -eq "$events" ] || fail "not one InvestigativeAction per custody event"
jq -e '[."@graph"[] | select(."@type" == "case-investigation:InvestigativeAction")] |
  all(has("uco-action:performer") and ."uco-action:startTime"."@type" == "xsd:dateTime")' \
  chain.jsonld >/dev/null || fail "an action lacks its performer or time"
jq -e --arg sha "$(digest sha256 src.bin)" '[.. | objects | select(."@type" == "uco-types:Hash")
  | select(."uco-types:hashMethod"."@value" == "SHA256")] |
  any(."uco-types:hashValue" == {"@type": "xsd:hexBinary", "@value": $sha})' chain.jsonld \
  >/dev/null || fail "the image's SHA-256 is not a uco-types:Hash with a hexBinary value"
jq -e '[."@graph"[] | select(."@type" == "case-investigation:ProvenanceRecord")] |
  all(."case-investigation:exhibitNumber" == "E1")' chain.jsonld >/dev/null ||
  fail "provenance records lack the exhibit number"
run "$EXPORT" img.aff4 --case-uco chain.jsonld
expect_rc 73
if /usr/bin/python3 -c 'import rdflib' 2>/dev/null; then
  /usr/bin/python3 - "$events" <<'PY' || fail "rdflib does not read the JSON-LD as expected"
import sys, rdflib
g = rdflib.Graph()
g.parse("chain.jsonld", format="json-ld")
CI = rdflib.Namespace("https://ontology.caseontology.org/case/investigation/")
actions = set(g.subjects(rdflib.RDF.type, CI.InvestigativeAction))
assert len(actions) == int(sys.argv[1]), (len(actions), sys.argv[1])
PY
fi
