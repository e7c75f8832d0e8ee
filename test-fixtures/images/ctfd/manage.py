"""CLI of the CTFd stand-in (test fixture): `python manage.py <command>`.

Like the image's manage.py it creates the app first (plugins load), then:
  db upgrade              create the tables (the entrypoint's migration step)
  get_config KEY          print a config value
  set_config KEY VALUE    set a config value
"""
import click

from CTFd import create_app
from CTFd.utils import get_config, set_config

app = create_app()


@click.group()
def cli():
    pass


@cli.group()
def db():
    """Database commands."""


@db.command()
def upgrade():
    """Tables are created by create_app(); nothing more to migrate."""
    print("Database is up to date", flush=True)


@cli.command("get_config")
@click.argument("key")
def get_config_cmd(key):
    with app.app_context():
        print(get_config(key))


@cli.command("set_config")
@click.argument("key")
@click.argument("value")
def set_config_cmd(key, value):
    with app.app_context():
        set_config(key, value)
        print(get_config(key))


if __name__ == "__main__":
    cli()
