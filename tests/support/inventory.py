"""A province inventory of one agency and one system, as an operator writes one; `{owner}` is the system's owner."""

INVENTORY = """
[province]
name = "Tỉnh Bình Định"
code = "052"
targets = { connected_systems = 0.6, online_dossiers = 0.3, signed_results = 1.0, electronic_documents = 0.9 }

[[agencies]]
code = "000.00.01.H22"
name = "Sở Tư pháp"
level = "province"

[[systems]]
id = "mot-cua"
name = "Hệ thống thông tin giải quyết thủ tục hành chính"
owner = "{owner}"
level = "province"
kind = "dossier_system"
serves_citizens_businesses = true
"""
