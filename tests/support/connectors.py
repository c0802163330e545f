"""Connector registrations the tests give a hub (POST /v1/connectors, or straight into its store).

A test that needs other grants derives its own: `{**MOT_CUA, "produces": [...]}`."""

# The province's one-stop-shop system, sending dossiers.
MOT_CUA = {"id": "mot-cua", "name": "Một cửa điện tử", "agency": "000.00.01.H22", "produces": ["dossier.submitted"]}
# The national data exchange platform, receiving them.
NDXP = {"id": "ndxp", "name": "NDXP", "agency": "NDXP", "level": "national", "consumes": ["dossier.submitted"]}
# The national population database, answering citizen verifications.
POPULATION = {"id": "csdl-dan-cu", "name": "CSDL quốc gia về dân cư", "agency": "BCA", "level": "national",
              "produces": [], "consumes": ["citizen.verify.request"]}

# The control-plane tests' exchange: mot-cua also asks for verifications, NDXP sends receipts.
MOT_CUA_VERIFYING = {**MOT_CUA, "produces": ["dossier.submitted", "citizen.verify.request"],
                     "consumes": ["citizen.verify.reply"]}
NDXP_RECEIPTS = {**NDXP, "produces": ["ndxp.receipt"]}
