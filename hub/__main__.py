from hub.cli import app

app(prog_name="lgsp-hub")
