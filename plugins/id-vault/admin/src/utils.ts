import * as React from 'react';
import { isFetchError, useFetchClient, useNotification } from '@strapi/strapi/admin';
import { useIntl, type MessageDescriptor } from 'react-intl';

// Same id as shared/ (CommonJS there; kept literal here so the admin bundler needs no CJS interop).
export const PLUGIN_ID = 'id-vault';

/** A message of this plugin; its translations carry the key without the `id-vault.` prefix. */
export const t = (id: string, defaultMessage: string): MessageDescriptor => ({ id: `${PLUGIN_ID}.${id}`, defaultMessage });

/** The plugin's content types the admin panel extends (literal, like PLUGIN_ID). */
export const UIDS = {
  customer: 'plugin::id-vault.customer',
  identityDocument: 'plugin::id-vault.identity-document',
  orgUnit: 'plugin::id-vault.org-unit',
} as const;

/** The uid of one of the plugin's admin actions (declared by the server). */
export const action = (name: string) => `plugin::${PLUGIN_ID}.${name}`;

const permission = (name: string) => ({ action: action(name), subject: null });

export const PERMISSIONS = {
  settings: [permission('settings.manage')],
  /** Either is enough: requesters see their own requests, approvers all of them. */
  grants: [permission('grant.request'), permission('grant.approve')],
  /** The Audit log page and the customer's "Who has seen this customer" panel. */
  audit: [permission('audit.read')],
  /** Settings → ID Vault → Keys. */
  keys: [permission('keys.manage')],
  /** Settings → ID Vault → Backups. */
  backups: [permission('backup.manage')],
  /** Erase customers for good (the edit view's Erasure panel). */
  erase: [permission('customer.erase')],
  /** Settings → ID Vault → Retention: either is enough (rules with settings.manage, candidates with customer.erase). */
  retention: [permission('settings.manage'), permission('customer.erase')],
};

/** The server's message of a failed request (`{ error: { message } }`), else the error's own. */
export const errorMessage = (e: unknown) =>
  (isFetchError(e) && e.response?.data?.error?.message) || (e instanceof Error ? e.message : String(e));

/**
 * The fetch client plus `run`, which awaits a request and returns its body; on failure it shows the
 * server's error as a notification and returns undefined (a request aborted by unmounting stays silent).
 */
export const useVaultApi = () => {
  const client = useFetchClient();
  const { toggleNotification } = useNotification();
  const { formatMessage } = useIntl();

  const run = React.useCallback(
    async <T>(request: Promise<{ data: T }>, success?: MessageDescriptor): Promise<T | undefined> => {
      try {
        const { data } = await request;
        if (success) toggleNotification({ type: 'success', message: formatMessage(success) });
        return data;
      } catch (e) {
        if ((e as Error)?.name !== 'AbortError') toggleNotification({ type: 'danger', message: errorMessage(e) });
        return undefined;
      }
    },
    [toggleNotification, formatMessage]
  );

  return { ...client, run };
};
