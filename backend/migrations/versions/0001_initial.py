"""The tables of the first release with migrations: users, jobs, results, shares, workers.

A table that already exists is kept as it is: the databases that `create_all` (the app before
migrations, `flask init-db`) made hold exactly these tables, and are adopted by this revision (with
the constraint names PostgreSQL gave them, which are the models' names; SQLite's unique
constraints stay unnamed there).

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def existing_tables():
    if op.get_context().as_sql:  # `flask db upgrade --sql`: nothing to look at
        return set()
    return set(sa.inspect(op.get_bind()).get_table_names())


def upgrade():
    existing = existing_tables()
    if "users" not in existing:
        op.create_table(
            "users",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("openid", sa.String(length=128), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("last_login_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("users_pkey")),
            sa.UniqueConstraint("openid", name=op.f("users_openid_key")),
        )
    if "workers" not in existing:
        op.create_table(
            "workers",
            sa.Column("id", sa.String(length=96), nullable=False),
            sa.Column("started_at", sa.DateTime(), nullable=False),
            sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("workers_pkey")),
        )
    if "jobs" not in existing:
        op.create_table(
            "jobs",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("style", sa.String(length=64), nullable=False),
            sa.Column("long_side", sa.Integer(), nullable=False),
            sa.Column("model", sa.String(length=8), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("worker_id", sa.String(length=96), nullable=True),
            sa.Column("error_code", sa.String(length=64), nullable=True),
            sa.Column("error_message", sa.String(length=300), nullable=True),
            sa.Column("notes", sa.String(length=300), nullable=True),
            sa.Column("source_path", sa.String(length=300), nullable=True),
            sa.Column("check_status", sa.String(length=16), nullable=False),
            sa.Column("check_trace_id", sa.String(length=128), nullable=True),
            sa.Column("media_token", sa.String(length=64), nullable=True),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("started_at", sa.DateTime(), nullable=True),
            sa.Column("finished_at", sa.DateTime(), nullable=True),
            sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("jobs_user_id_fkey")),
            sa.PrimaryKeyConstraint("id", name=op.f("jobs_pkey")),
            sa.UniqueConstraint("media_token", name=op.f("jobs_media_token_key")),
        )
        for column in ("check_trace_id", "created_at", "status", "user_id", "worker_id"):
            op.create_index(op.f(f"ix_jobs_{column}"), "jobs", [column])
    if "results" not in existing:
        op.create_table(
            "results",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("job_id", sa.String(length=32), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("path", sa.String(length=300), nullable=False),
            sa.Column("width", sa.Integer(), nullable=False),
            sa.Column("height", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("expires_at", sa.DateTime(), nullable=False),
            sa.Column("deleted_at", sa.DateTime(), nullable=True),
            sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("results_job_id_fkey")),
            sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("results_user_id_fkey")),
            sa.PrimaryKeyConstraint("id", name=op.f("results_pkey")),
            sa.UniqueConstraint("job_id", name=op.f("results_job_id_key")),
        )
        for column in ("expires_at", "user_id"):
            op.create_index(op.f(f"ix_results_{column}"), "results", [column])
    if "shares" not in existing:
        op.create_table(
            "shares",
            sa.Column("token", sa.String(length=64), nullable=False),
            sa.Column("result_id", sa.String(length=32), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.ForeignKeyConstraint(["result_id"], ["results.id"], name=op.f("shares_result_id_fkey")),
            sa.PrimaryKeyConstraint("token", name=op.f("shares_pkey")),
        )
        op.create_index(op.f("ix_shares_result_id"), "shares", ["result_id"])


def downgrade():
    for table in ("shares", "results", "jobs", "workers", "users"):
        op.drop_table(table)  # with its indexes
