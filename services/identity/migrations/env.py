from services.common.db import run_alembic_env
from services.identity import audit_log, auth_models  # noqa: F401 (tables in Base.metadata)
from services.identity.channels import models as channel_models  # noqa: F401 (tables in Base.metadata)
from services.identity.inbox import models as inbox_models  # noqa: F401 (tables in Base.metadata)
from services.identity.models import Base
from services.identity.sync import tables as sync_tables  # noqa: F401 (tables in Base.metadata)

run_alembic_env(Base.metadata)
