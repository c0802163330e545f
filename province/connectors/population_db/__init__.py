"""Stub of the national population database (cơ sở dữ liệu quốc gia về dân cư)."""
