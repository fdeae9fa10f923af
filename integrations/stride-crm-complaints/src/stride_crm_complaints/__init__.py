"""Stride integration plugin ``crm-complaints``: the customer complaint rate from a CRM."""

from services.integrations import Plugin
from stride_crm_complaints.source import ComplaintsSource

plugin = Plugin(name="crm-complaints", sources=[ComplaintsSource()], version="0.1.0")

__all__ = ["ComplaintsSource", "plugin"]
