"""The one-stop dossier system simulator (một cửa điện tử)."""
