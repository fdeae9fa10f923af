"""Notification channels and the organisation's calendar (identity's own tables):
departments' IM group robots, holidays and adjusted working days, the notification policy."""
