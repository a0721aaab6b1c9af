import type { Core } from '@strapi/strapi';
import { getService } from './utils/strapi';

export default async ({ strapi }: { strapi: Core.Strapi }) => {
  // Events are in the database already; let a chaining round finish before the connection closes.
  await getService(strapi, 'audit').close();
};
