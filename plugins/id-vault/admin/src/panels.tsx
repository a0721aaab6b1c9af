import * as React from 'react';
import type { PanelComponent } from '@strapi/content-manager/strapi-admin';
import { useRBAC } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { AuditTrailPanel } from './components/AuditTrailPanel';
import { CustomerDocuments } from './components/CustomerDocuments';
import { EraseCustomer } from './components/EraseCustomer';
import { IdentityDocumentScans } from './components/IdentityDocumentScans';
import { useScanPermissions } from './scans';
import { PERMISSIONS, t, UIDS } from './utils';

/** The name an erased customer keeps (server: services/erasure.ts). */
const ERASED_NAME = '[erased]';

/*
 * Edit-view side panels (Content Manager `addEditViewSidePanel`): each is rendered as a component for
 * every edit view and returns its { title, content }, or null where it does not apply. Both need a saved
 * entry: `document` is undefined on create and on clone.
 */

export const CustomerDocumentsPanel: PanelComponent = ({ model, documentId, document }) => {
  const { formatMessage } = useIntl();
  const permissions = useScanPermissions();
  if (model !== UIDS.customer || !documentId || !document || permissions.isLoading) return null;
  return {
    title: formatMessage(t('documents.title', 'Documents')),
    content: <CustomerDocuments documentId={documentId} savedAt={document.updatedAt} permissions={permissions} />,
  };
};

/** Who has seen this customer: only for holders of audit.read, the trail being part of the audit log. */
export const CustomerAuditPanel: PanelComponent = ({ model, documentId, document }) => {
  const { formatMessage } = useIntl();
  const { allowedActions, isLoading } = useRBAC(PERMISSIONS.audit);
  if (model !== UIDS.customer || !documentId || !document || isLoading || !allowedActions.canRead) return null;
  return {
    title: formatMessage(t('audit.trail.title', 'Who has seen this customer')),
    content: <AuditTrailPanel documentId={documentId} />,
  };
};

export const IdentityDocumentScansPanel: PanelComponent = ({ model, documentId, document }) => {
  const { formatMessage } = useIntl();
  const permissions = useScanPermissions();
  if (model !== UIDS.identityDocument || !documentId || !document || permissions.isLoading) return null;
  if (!permissions.view && !permissions.upload) return null;
  return {
    title: formatMessage(t('scans.title', 'Scans')),
    content: <IdentityDocumentScans documentId={documentId} type={document.type} permissions={permissions} />,
  };
};

/** Erase for good: only for holders of customer.erase, on a saved customer not erased already. */
export const CustomerErasePanel: PanelComponent = ({ model, documentId, document }) => {
  const { formatMessage } = useIntl();
  const { allowedActions, isLoading } = useRBAC(PERMISSIONS.erase);
  if (model !== UIDS.customer || !documentId || !document || document.name === ERASED_NAME || isLoading || !allowedActions.canErase) return null;
  return {
    title: formatMessage(t('erase.title.panel', 'Erasure')),
    content: <EraseCustomer documentId={documentId} />,
  };
};
