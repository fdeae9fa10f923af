"""``stride admin ...``: accounts that cannot be made through the API (the first admin)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import grpc
import typer
from rich.console import Console

from services.common.errors import DomainError
from services.common.settings import StrideSettings
from services.identity.bootstrap import create_admin

admin_app = typer.Typer(help="Administrator accounts.", no_args_is_help=True)


@admin_app.callback()
def _group() -> None:
    """Administrator accounts (made directly through the identity service)."""


@admin_app.command("create")
def create_command(
    employee_number: Annotated[str, typer.Option(help="Login of the admin (employee number).")],
    name: Annotated[str, typer.Option(help="Full name.")],
    email: Annotated[str, typer.Option(help="Email address (also works as login).")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="STRIDE_ADMIN_PASSWORD",
            help="At least 10 characters, letters and others (prompted when not given).",
        ),
    ],
    department: Annotated[
        str, typer.Option(help="Department id, or name of a top-level one (made if missing).")
    ] = "Administration",
    must_change: Annotated[
        bool, typer.Option(help="Make the admin choose a new password at first sign-in.")
    ] = False,
) -> None:
    """Create an admin (or make an existing employee one, reactivating them if they had been
    deactivated) and set the password, through the identity service at STRIDE_IDENTITY_ADDR.
    Sign in with POST /api/v1/auth/login."""
    settings = StrideSettings()
    console = Console()
    try:
        account = asyncio.run(
            create_admin(
                settings.identity_addr,
                employee_number=employee_number,
                name=name,
                email=email,
                department=department,
                password=password,
                must_change=must_change,
            )
        )
    except DomainError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(1) from exc
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]identity service at {settings.identity_addr}: {exc.details()}[/red]")
        raise typer.Exit(2) from exc
    if account.created:
        what = "created"
    elif account.reactivated:
        what = "reactivated (the employee had been deactivated; admin role and password set)"
    else:
        what = "updated (admin role and password)"
    console.print(
        f"[green]admin {what}[/green]: sign in as [bold]{account.login}[/bold] "
        f"(employee id {account.employee.id})"
    )
