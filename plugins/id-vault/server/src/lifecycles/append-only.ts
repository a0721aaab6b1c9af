import { UIDS } from '../utils/strapi';

const refuse = () => {
  throw new Error('id-vault: audit events and checkpoints are append-only');
};

// A checkpoint lets verification skip what was pruned: only the prune may write one.
const refuseCheckpoint = (event: { model: { uid: string } }) => {
  if (event.model.uid === UIDS.auditCheckpoint) throw new Error('id-vault: audit checkpoints are written by the prune only');
};

/**
 * Audit events may be created, never changed or deleted, whatever path tries; checkpoints are not even
 * created through db.query. The guard covers db.query (and so the Document Service and every API); the three
 * changes the audit service makes with knex underneath it are the only ones: the chainer filling in seq,
 * prevHash and hash of a pending event, the prune deleting the oldest chained events together with the
 * checkpoint that accounts for them, and a key rotation re-signing the latest checkpoint (services/audit.ts).
 */
export const appendOnly = {
  models: [UIDS.auditEvent, UIDS.auditCheckpoint],
  beforeCreate: refuseCheckpoint,
  beforeCreateMany: refuseCheckpoint,
  beforeUpdate: refuse,
  beforeUpdateMany: refuse,
  beforeDelete: refuse,
  beforeDeleteMany: refuse,
};
