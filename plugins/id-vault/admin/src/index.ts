import { ClockCounterClockwise, Files, Key, WarningCircle } from '@strapi/icons';
import type { MessageDescriptor } from 'react-intl';
import { CustomerAuditPanel, CustomerDocumentsPanel, CustomerErasePanel, IdentityDocumentScansPanel } from './panels';
import { ExportButton } from './components/ExportButton';
import { EncryptedFieldIcon } from './components/EncryptedFieldIcon';
import { DEPENDENT_NUMBER_INPUT, DependentNumberInput, type ShowWhen } from './components/DependentNumberInput';
import { AUDIT_LOG_PATH } from './audit';
import en from './translations/en.json';
import zhHans from './translations/zh-Hans.json';
import zhHansFields from './translations/zh-Hans.content-manager.json';
import enums from './translations/enums.json';
import { PERMISSIONS, PLUGIN_ID, t, UIDS } from './utils';

/** One option of a select in the Encrypted text dialog; its message is named per select (`none` means three things). */
const choice = (key: string, intlLabel: MessageDescriptor) => ({ key, value: key, metadatas: { intlLabel } });

/** A number option shown only when another option of the dialog has one value (components/DependentNumberInput). */
const dependentNumber = (name: string, intlLabel: MessageDescriptor, defaultValue: number, showWhen: ShowWhen, description?: MessageDescriptor) => ({
  name,
  type: DEPENDENT_NUMBER_INPUT,
  intlLabel,
  description,
  defaultValue,
  showWhen,
});
const WITH_PREFIX: ShowWhen = { name: 'options.searchable', value: 'exact-prefix', defaultValue: 'none' };
const WITH_KEEP: ShowWhen = { name: 'options.mask', value: 'keep', defaultValue: 'full' };

/** The customers list filtered to those missing documents. */
const INCOMPLETE_CUSTOMERS = `/content-manager/collection-types/${UIDS.customer}?filters[$and][0][documentsComplete][$eq]=false`;

const TRANSLATIONS: Record<string, Record<string, string>> = { en, 'zh-Hans': zhHans };
/**
 * Content Manager labels of the plugin's fields by locale (`<uid>.<field>`), as Strapi looks them up
 * (content-manager.content-types.<uid>.<field>). English has none: its labels are the views' configuration
 * (set once, editable in "Configure the view"); a translation here would override what an admin sets there.
 */
const FIELD_TRANSLATIONS: Record<string, Record<string, string>> = { 'zh-Hans': zhHansFields };
/**
 * Display names of the plugin's enum values. Strapi looks an option up by its bare value (a global message
 * id), so only values no other type is likely to use are named; `other` stays as it is.
 */
const ENUM_TRANSLATIONS: Record<string, Record<string, string>> = enums;

export default {
  register(app: any) {
    app.registerPlugin({ id: PLUGIN_ID, name: 'ID Vault' });

    // Settings → ID Vault: /admin/settings/id-vault/field-access, …/required-documents, …/retention, …/keys and …/export-recipients
    app.addSettingsLink({ id: PLUGIN_ID, intlLabel: t('settings.section', 'ID Vault') }, [
      {
        id: 'field-access',
        to: `${PLUGIN_ID}/field-access`,
        intlLabel: t('field-access.title', 'Field access'),
        permissions: PERMISSIONS.settings,
        Component: () => import('./pages/FieldAccess'),
      },
      {
        id: 'required-documents',
        to: `${PLUGIN_ID}/required-documents`,
        intlLabel: t('required.title', 'Required documents'),
        permissions: PERMISSIONS.settings,
        Component: () => import('./pages/RequiredDocuments'),
      },
      {
        id: 'retention',
        to: `${PLUGIN_ID}/retention`,
        intlLabel: t('retention.title', 'Retention'),
        permissions: PERMISSIONS.retention,
        Component: () => import('./pages/Retention'),
      },
      {
        id: 'keys',
        to: `${PLUGIN_ID}/keys`,
        intlLabel: t('keys.title', 'Keys'),
        permissions: PERMISSIONS.keys,
        Component: () => import('./pages/Keys'),
      },
      {
        id: 'backups',
        to: `${PLUGIN_ID}/backups`,
        intlLabel: t('backups.title', 'Backups'),
        permissions: PERMISSIONS.backups,
        Component: () => import('./pages/Backups'),
      },
      {
        id: 'export-recipients',
        to: `${PLUGIN_ID}/export-recipients`,
        intlLabel: t('recipients.title', 'Export recipients'),
        permissions: PERMISSIONS.settings,
        Component: () => import('./pages/ExportRecipients'),
      },
    ]);

    // Home page: documents expiring soon and customers with missing documents (the server scopes the rows).
    app.widgets.register({
      id: 'documents-attention',
      pluginId: PLUGIN_ID,
      icon: Files,
      title: t('attention.title', 'Identity documents'),
      component: () => import('./components/AttentionWidget').then((m) => m.AttentionWidget),
      link: { label: t('attention.link', 'Customers with missing documents'), href: INCOMPLETE_CUSTOMERS },
      permissions: [{ action: 'plugin::content-manager.explorer.read', subject: UIDS.customer }],
    });

    // Home page: open anomaly alerts (the Audit log page lists and clears them).
    app.widgets.register({
      id: 'anomaly-alerts',
      pluginId: PLUGIN_ID,
      icon: WarningCircle,
      title: t('anomalies.title', 'Anomaly alerts'),
      component: () => import('./components/AnomalyWidget').then((m) => m.AnomalyWidget),
      link: { label: t('audit.title', 'Audit log'), href: AUDIT_LOG_PATH },
      permissions: PERMISSIONS.audit,
    });

    // Temporary access requests and their approval: /admin/plugins/id-vault/access-requests
    app.addMenuLink({
      to: `plugins/${PLUGIN_ID}/access-requests`,
      icon: Key,
      intlLabel: t('grants.title', 'Access requests'),
      permissions: PERMISSIONS.grants,
      Component: () => import('./pages/AccessRequests'),
    });

    // The audit trail, its charts and the verification of its hash chain: /admin/plugins/id-vault/audit-log
    app.addMenuLink({
      to: `plugins/${PLUGIN_ID}/audit-log`,
      icon: ClockCounterClockwise,
      intlLabel: t('audit.title', 'Audit log'),
      permissions: PERMISSIONS.audit,
      Component: () => import('./pages/AuditLog'),
    });

    // The "Encrypted text" field an admin can add to any content type in the Content-Type Builder.
    app.customFields.register({
      name: 'encrypted',
      pluginId: PLUGIN_ID,
      type: 'text',
      icon: EncryptedFieldIcon,
      intlLabel: t('encrypted.label', 'Encrypted text'),
      intlDescription: t('encrypted.description', 'Encrypted at rest (AES-256-GCM), masked for those who may not see it'),
      components: {
        Input: async () => import('./components/EncryptedInput').then((m) => ({ default: m.EncryptedInput })),
      },
      options: {
        base: [
          {
            sectionTitle: t('encrypted.section.search', 'Search'),
            items: [
              {
                name: 'options.searchable',
                type: 'select',
                intlLabel: t('encrypted.searchable', 'Searchable'),
                description: t('encrypted.searchable.description', 'Exact search uses a keyed hash (blind index); the value itself stays encrypted'),
                defaultValue: 'none',
                options: [choice('none', t('encrypted.option.searchable.none', 'Not searchable')), choice('exact', t('encrypted.option.searchable.exact', 'Exact match')), choice('exact-prefix', t('encrypted.option.searchable.exact-prefix', 'Exact match and a prefix of N characters'))],
              },
              {
                name: 'options.normalise',
                type: 'select',
                intlLabel: t('encrypted.normalise', 'Normalise before indexing'),
                defaultValue: 'none',
                options: [choice('none', t('encrypted.option.normalise.none', 'None')), choice('digits', t('encrypted.option.normalise.digits', 'Digits only')), choice('lower', t('encrypted.option.normalise.lower', 'Lower case')), choice('trim', t('encrypted.option.normalise.trim', 'Trim spaces'))],
              },
              dependentNumber('options.prefixLength', t('encrypted.prefixLength', 'Prefix length (N)'), 4, WITH_PREFIX, t('encrypted.prefixLength.description', 'The first N characters get a keyed hash of their own, for prefix search')),
            ],
          },
          {
            sectionTitle: t('encrypted.section.display', 'Display and checks'),
            items: [
              {
                name: 'options.mask',
                type: 'select',
                intlLabel: t('encrypted.mask', 'Mask rule'),
                description: t('encrypted.mask.description', 'What people who may not see the value get instead'),
                defaultValue: 'full',
                options: [
                  choice('full', t('encrypted.option.mask.full', 'Hide all')),
                  choice('id-number', t('encrypted.option.mask.id-number', 'ID number (first 3, last 4)')),
                  choice('phone', t('encrypted.option.mask.phone', 'Phone (first 3, last 4)')),
                  choice('email', t('encrypted.option.mask.email', 'E-mail (first letter and domain)')),
                  choice('name', t('encrypted.option.mask.name', 'Name (first character)')),
                  choice('address', t('encrypted.option.mask.address', 'Address (first 6 characters)')),
                  choice('keep', t('encrypted.option.mask.keep', 'Keep first N / last N')),
                ],
              },
              {
                name: 'options.validate',
                type: 'select',
                intlLabel: t('encrypted.validate', 'Validate as'),
                defaultValue: 'none',
                options: [
                  choice('none', t('encrypted.option.validate.none', 'Anything')),
                  choice('resident-id', t('encrypted.option.validate.resident-id', 'Resident ID number (GB 11643)')),
                  choice('credit-code', t('encrypted.option.validate.credit-code', 'Unified social credit code (GB 32100)')),
                  choice('phone', t('encrypted.option.validate.phone', 'Phone number')),
                  choice('email', t('encrypted.option.validate.email', 'E-mail address')),
                ],
              },
              dependentNumber('options.keepFirst', t('encrypted.keepFirst', 'Keep first N'), 2, WITH_KEEP),
              dependentNumber('options.keepLast', t('encrypted.keepLast', 'Keep last N'), 2, WITH_KEEP),
            ],
          },
        ],
        advanced: [
          {
            sectionTitle: t('encrypted.section.settings', 'Settings'),
            items: [
              {
                name: 'required',
                type: 'checkbox',
                intlLabel: t('encrypted.required', 'Required field'),
                description: t('encrypted.required.description', "You won't be able to create an entry if this field is empty"),
              },
              {
                name: 'private',
                type: 'checkbox',
                intlLabel: t('encrypted.private', 'Private field'),
                description: t('encrypted.private.description', 'This field will not show up in the API response'),
              },
            ],
          },
        ],
      },
    });
  },

  bootstrap(app: any) {
    // The Encrypted text dialog's options that apply only with one choice of another (prefix length, keep first/last N);
    // the builder is one of Strapi's core plugins, but a missing one must not break the rest of the panel.
    app.getPlugin('content-type-builder')?.apis.forms.components.add({ id: DEPENDENT_NUMBER_INPUT, component: DependentNumberInput });
    // The Documents and Who-has-seen panels of a customer and the Scans panel of an identity document (edit views).
    app.getPlugin('content-manager').apis.addEditViewSidePanel([CustomerDocumentsPanel, CustomerAuditPanel, CustomerErasePanel, IdentityDocumentScansPanel]);
    // Export in the list view's actions; it shows itself on customers only, to holders of an export right.
    app.getPlugin('content-manager').injectComponent('listView', 'actions', { name: 'id-vault-export', Component: ExportButton });
  },

  async registerTrads({ locales }: { locales: string[] }) {
    return locales.map((locale) => {
      const data = TRANSLATIONS[locale] ?? {};
      const fields = FIELD_TRANSLATIONS[locale] ?? {};
      return {
        locale,
        data: {
          ...Object.fromEntries(Object.entries(data).map(([k, v]) => [`${PLUGIN_ID}.${k}`, v])),
          ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [`content-manager.content-types.${k}`, v])),
          ...(ENUM_TRANSLATIONS[locale] ?? {}),
        },
      };
    });
  },
};
