"""Serving a library to a team: users and roles, the audit log, writes to a served index, exports."""
