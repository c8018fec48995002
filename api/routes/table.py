"""The route table: every path of the API, who may call it, and what it audits.

Read this to learn the whole API. Only rows with role None answer without a token.
"""

from __future__ import annotations

from api.endpoint import Endpoint
from api.routes import (
    actions,
    configurations,
    events,
    groups,
    health,
    locks,
    openapi,
    pki_public,
    rotation,
    secrets,
    tasks,
    versions,
)
from api.schemas import configurations as c
from api.schemas import secrets as s
from lifecycle.vocabulary import Role

R, SR, W, M = Role.READER, Role.SECRETS_READER, Role.WRITER, Role.MANAGER
V2 = "/api/v2"
SECRET = V2 + "/secrets/{id}"
VERSION = V2 + "/secrets/{secret_id}/versions/{id}"

ROUTES: tuple[Endpoint, ...] = (
    Endpoint("GET", "/health", health.health, None, "Service health: 200 while the store answers"),
    Endpoint("GET", V2 + "/openapi.json", openapi.document, R, "This API's OpenAPI document"),
    # CA certificates and CRLs: public, since relying parties fetch them from URLs in certificates
    Endpoint("GET", V2 + "/pki/{name}/ca", pki_public.ca_der, None, "A CA's certificate (DER)"),
    Endpoint("GET", V2 + "/pki/{name}/ca/{generation}", pki_public.generation_ca_der, None,
             "A CA's certificate for one generation of its key (DER)"),
    Endpoint("GET", V2 + "/pki/{name}/ca.pem", pki_public.ca_pem, None, "A CA's certificate (PEM)"),
    Endpoint("GET", V2 + "/pki/{name}/ca_chain", pki_public.ca_chain, None, "A CA's certificate and its issuers (PEM)"),
    Endpoint("GET", V2 + "/pki/{name}/crl", pki_public.crl_der, None, "A CA's CRL (DER)"),
    Endpoint("GET", V2 + "/pki/{name}/crl.pem", pki_public.crl_pem, None, "A CA's CRL (PEM)"),
    Endpoint("GET", V2 + "/pki/{name}/crl/{generation}", pki_public.generation_crl_der, None,
             "The CRL signed by one generation of a CA's key (DER)"),
    # secret groups
    Endpoint("POST", V2 + "/secret_groups", groups.create_group, M, "Create a secret group", "group.create", s.GroupPrototype, 201),
    Endpoint("GET", V2 + "/secret_groups", groups.list_groups, R, "List secret groups"),
    Endpoint("GET", V2 + "/secret_groups/{id}", groups.get_group, R, "Get a secret group"),
    Endpoint("PATCH", V2 + "/secret_groups/{id}", groups.update_group, M, "Update a secret group", "group.update", s.GroupPatch),
    Endpoint("DELETE", V2 + "/secret_groups/{id}", groups.delete_group, M, "Delete an empty secret group", "group.delete", status=204),
    # secrets
    Endpoint("POST", V2 + "/secrets", secrets.create_secret, W, "Create a secret", "secret.create", s.SecretPrototype, 201),
    Endpoint("GET", V2 + "/secrets", secrets.list_secrets, R, "List secrets (metadata)"),
    Endpoint("GET", SECRET, secrets.get_secret, SR, "Get a secret with its current data", "secret.read_payload"),
    Endpoint("DELETE", SECRET, secrets.delete_secret, M, "Delete a secret", "secret.delete", status=204),
    Endpoint("GET", SECRET + "/metadata", secrets.get_metadata, R, "Get a secret's metadata"),
    Endpoint("PATCH", SECRET + "/metadata", secrets.update_metadata, W, "Update a secret's metadata", "secret.update_metadata", s.SecretMetadataPatch),
    Endpoint(
        "GET", V2 + "/secret_groups/{secret_group_name}/secret_types/{secret_type}/secrets/{name}",
        secrets.get_by_name, SR, "Get a secret by group name, type and name", "secret.read_payload",
    ),
    # versions
    Endpoint("POST", V2 + "/secrets/{secret_id}/versions", versions.create_version, W, "Create a new version (manual rotation)", "secret.create_version", s.SecretVersionPrototype, 201),
    Endpoint("GET", V2 + "/secrets/{secret_id}/versions", versions.list_versions, R, "List a secret's versions"),
    Endpoint("GET", VERSION, versions.get_version, SR, "Get a version with its data ('current' and 'previous' work as ids)", "version.read_payload"),
    Endpoint("GET", VERSION + "/metadata", versions.get_version_metadata, R, "Get a version's metadata"),
    Endpoint("PATCH", VERSION + "/metadata", versions.update_version_metadata, W, "Update a version's metadata", "version.update_metadata", s.VersionMetadataPatch),
    Endpoint("DELETE", VERSION + "/secret_data", versions.delete_version_data, M, "Erase a version's data", "version.delete_data", status=204),
    Endpoint("POST", SECRET + "/actions", actions.secret_action, W, "Run a secret action (revoke a private certificate)", "secret.action", c.SecretAction, 201),
    Endpoint("POST", VERSION + "/actions", actions.version_action, W, "Run a version action (revoke its certificate)", "version.action", c.SecretAction, 201),
    # rotation and stage labels (certkeeper extensions)
    Endpoint("POST", SECRET + "/rotate", rotation.rotate_secret, W, "Rotate a secret the type's way; answers version and task ids", "secret.rotate", s.RotateRequest, 201),
    Endpoint("GET", SECRET + "/stages", rotation.list_stages, R, "List a secret's stage labels"),
    Endpoint("PUT", SECRET + "/stages/{stage}", rotation.move_stage, W, "Move a stage label to a version", "stage.move", s.StageMove),
    Endpoint("DELETE", SECRET + "/stages/{stage}", rotation.remove_stage, W, "Remove a custom stage label", "stage.remove"),
    Endpoint("GET", V2 + "/random_password", rotation.random_password, R, "Generate a random password (not stored)"),
    Endpoint("GET", V2 + "/secrets/{secret_id}/tasks", tasks.list_tasks, R, "List a secret's tasks (orders, rotations)"),
    Endpoint("GET", V2 + "/secrets/{secret_id}/tasks/{id}", tasks.get_task, R, "Get one of a secret's tasks"),
    # events and webhooks (certkeeper extensions)
    Endpoint("GET", V2 + "/events", events.list_events, R, "List events (filter by event_type, secret_id, since, after_id)"),
    Endpoint("POST", V2 + "/webhooks", events.create_webhook, M, "Register a webhook; answers its signing key once", "webhook.create", s.WebhookPrototype, 201),
    Endpoint("GET", V2 + "/webhooks", events.list_webhooks, M, "List webhooks"),
    Endpoint("DELETE", V2 + "/webhooks/{id}", events.delete_webhook, M, "Delete a webhook", "webhook.delete", status=204),
    Endpoint("GET", V2 + "/webhooks/{id}/deliveries", events.list_deliveries, M, "A webhook's delivery log"),
    # configurations: private CAs, certificate templates, ACME CAs and DNS providers
    Endpoint("POST", V2 + "/configurations", configurations.create_configuration, M, "Create a configuration", "configuration.create", c.ConfigurationPrototype, 201),
    Endpoint("GET", V2 + "/configurations", configurations.list_configurations, R, "List configurations"),
    Endpoint("GET", V2 + "/configurations/{name}", configurations.get_configuration, R, "Get a configuration"),
    Endpoint("PATCH", V2 + "/configurations/{name}", configurations.update_configuration, M, "Update a configuration", "configuration.update", c.ConfigurationPatch),
    Endpoint("DELETE", V2 + "/configurations/{name}", configurations.delete_configuration, M, "Delete an unused configuration", "configuration.delete", status=204),
    Endpoint("POST", V2 + "/configurations/{name}/actions", configurations.configuration_action, M, "Run a configuration action", "configuration.action", c.ConfigurationAction, 201),
    # locks
    Endpoint("GET", V2 + "/secrets_locks", locks.list_instance_locks, R, "List locked secrets across the instance"),
    Endpoint("GET", SECRET + "/locks", locks.list_secret_locks, R, "List a secret's locks"),
    Endpoint("POST", SECRET + "/locks_bulk", locks.create_secret_locks, W, "Lock the current version", "locks.create", s.LocksPrototype, 201),
    Endpoint("DELETE", SECRET + "/locks_bulk", locks.delete_secret_locks, W, "Remove locks from every version", "locks.delete"),
    Endpoint("GET", VERSION + "/locks", locks.list_version_locks, R, "List a version's locks"),
    Endpoint("POST", VERSION + "/locks_bulk", locks.create_version_locks, W, "Lock a version", "locks.create", s.LocksPrototype, 201),
    Endpoint("DELETE", VERSION + "/locks_bulk", locks.delete_version_locks, W, "Remove locks from a version", "locks.delete"),
)
