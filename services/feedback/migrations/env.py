from services.common.db import run_alembic_env
from services.feedback.models import Base

run_alembic_env(Base.metadata)
