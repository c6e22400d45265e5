"""``territoria secret``: the pseudonymisation key (``.secret``), guarded by the store."""

from __future__ import annotations

import click

from territoria.cli._common import workspace_option


@click.group("secret")
def secret_group():
    """The workspace's pseudonymisation key (never published; keep a backup of .secret)."""


@secret_group.command("show")
@workspace_option
def show_cmd(ws):
    """Show the fingerprint of the key and the one the store's pseudonyms were made with.

    \b
    Example:
      territoria secret show -w ./iztapalapa
    """
    from territoria.secret import fingerprint, read_key, recorded
    from territoria.store import Store

    ws.require()
    have = fingerprint(read_key(ws.secret_path)) if ws.secret_path.exists() else "-"
    made = "-"
    if ws.store_path.exists():
        with Store(ws.store_path, read_only=True, check_key=False) as s:
            made = recorded(s) or "-"
    click.echo(f"key (.secret): {have}\nstore pseudonyms made with: {made}")


@secret_group.command("rotate")
@click.option("--yes", is_flag=True, help="Confirm: codes pseudonymised before and after will "
                                          "no longer link.")
@workspace_option
def rotate_cmd(yes, ws):
    """Re-key on purpose (a leaked or lost key): a new .secret, the old one kept as
    .secret.retired-FINGERPRINT-DATE. Pseudonyms made before and after do not link.

    \b
    Example:
      territoria secret rotate --yes -w ./iztapalapa
    """
    from territoria.exceptions import ConfigError
    from territoria.secret import rotate
    from territoria.store import Store

    ws.require()
    if not yes:
        raise ConfigError("rotating the key breaks the link between pseudonyms made before and "
                          "after; run again with --yes to confirm")
    with Store(ws.store_path, check_key=False) as s:
        old, new = rotate(s, ws.root)
    click.echo(f"new key {new} (store pseudonyms were made with {old or '-'}); keep a backup "
               "of .secret")


def register(group: click.Group) -> None:
    group.add_command(secret_group)
