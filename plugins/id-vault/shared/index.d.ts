export declare const PLUGIN_ID: 'id-vault';
export declare const ENCRYPTED_FIELD: 'plugin::id-vault.encrypted';
export declare const UIDS: {
  customer: 'plugin::id-vault.customer';
  identityDocument: 'plugin::id-vault.identity-document';
  orgUnit: 'plugin::id-vault.org-unit';
  tag: 'plugin::id-vault.tag';
  dataKey: 'plugin::id-vault.data-key';
  blindIndex: 'plugin::id-vault.blind-index';
  auditEvent: 'plugin::id-vault.audit-event';
};
export declare const ACTION_LIST: ReadonlyArray<{ uid: string; displayName: string; subCategory: string }>;
export declare const ACTIONS: { auditRead: 'plugin::id-vault.audit.read' };
export declare const CONDITIONS: {
  mine: 'plugin::id-vault.customer-is-mine';
  myUnit: 'plugin::id-vault.customer-in-my-org-unit';
  myUnitOrBelow: 'plugin::id-vault.customer-in-my-org-unit-or-below';
};
