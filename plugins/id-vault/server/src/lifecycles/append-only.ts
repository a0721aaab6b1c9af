import { UIDS } from '../utils/strapi';

const refuse = () => {
  throw new Error('id-vault: audit events are append-only');
};

/** Audit events may be created, never changed or deleted, whatever path tries. */
export const appendOnly = {
  models: [UIDS.auditEvent],
  beforeUpdate: refuse,
  beforeUpdateMany: refuse,
  beforeDelete: refuse,
  beforeDeleteMany: refuse,
};
