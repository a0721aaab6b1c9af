import type { Core } from '@strapi/strapi';
import { getService } from './utils/strapi';

export default async ({ strapi }: { strapi: Core.Strapi }) => {
  // Let queued audit events reach the database before the connection closes.
  await getService(strapi, 'audit').flush();
};
