import * as React from 'react';
import type { PanelComponent } from '@strapi/content-manager/strapi-admin';
import { useRBAC } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { AuditTrailPanel } from './components/AuditTrailPanel';
import { CustomerDocuments } from './components/CustomerDocuments';
import { IdentityDocumentScans } from './components/IdentityDocumentScans';
import { useScanPermissions } from './scans';
import { PERMISSIONS, t, UIDS } from './utils';

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
