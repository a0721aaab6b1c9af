import customer from './customer/schema.json';
import identityDocument from './identity-document/schema.json';
import orgUnit from './org-unit/schema.json';
import tag from './tag/schema.json';
import dataKey from './data-key/schema.json';
import blindIndex from './blind-index/schema.json';
import auditEvent from './audit-event/schema.json';
import auditCheckpoint from './audit-checkpoint/schema.json';
import accessGrant from './access-grant/schema.json';
import scan from './scan/schema.json';
import jobRun from './job-run/schema.json';
import erasure from './erasure/schema.json';
import exportRecipient from './export-recipient/schema.json';
import anomaly from './anomaly/schema.json';
import retentionCandidate from './retention-candidate/schema.json';
import importRun from './import-run/schema.json';

export default {
  customer: { schema: customer },
  'identity-document': { schema: identityDocument },
  'org-unit': { schema: orgUnit },
  tag: { schema: tag },
  'data-key': { schema: dataKey },
  'blind-index': { schema: blindIndex },
  'audit-event': { schema: auditEvent },
  'audit-checkpoint': { schema: auditCheckpoint },
  'access-grant': { schema: accessGrant },
  scan: { schema: scan },
  'job-run': { schema: jobRun },
  erasure: { schema: erasure },
  'export-recipient': { schema: exportRecipient },
  anomaly: { schema: anomaly },
  'retention-candidate': { schema: retentionCandidate },
  'import-run': { schema: importRun },
};
