from services.common.db import run_alembic_env
from services.identity import audit_log, auth_models  # noqa: F401 (tables in Base.metadata)
from services.identity.models import Base

run_alembic_env(Base.metadata)
