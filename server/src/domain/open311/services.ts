/**
 * Open311 GeoReport v2 services: the city's active case categories, one service per category.
 * `service_code` is the category code; `group` the major category; `keywords` the category's
 * keywords. No category asks extra questions, so `metadata` is false and a service definition has
 * no attributes. `lang=en` (our extension) answers in English instead of Chinese.
 */
import type { Executor } from '@citygrid/db';
import { NotFound } from '../errors';
import { activeCategoryByCode, type CategoryView, listCategories } from '../reference/categories';

export type Open311Lang = 'zh' | 'en';

export interface Open311Service {
  service_code: string;
  service_name: string;
  description: string;
  metadata: boolean;
  type: 'realtime' | 'batch' | 'blackbox';
  keywords: string;
  group: string;
}

export interface Open311ServiceDefinition {
  service_code: string;
  attributes: never[];
}

function toService(c: CategoryView, lang: Open311Lang): Open311Service {
  const kind =
    c.kind === 'COMPONENT' ? (lang === 'en' ? 'public asset' : '部件') : lang === 'en' ? 'event' : '事件';
  const name = lang === 'en' ? c.nameEn : c.name;
  const group = lang === 'en' ? c.majorNameEn : c.majorName;
  return {
    service_code: c.code,
    service_name: name,
    description: `${group} / ${name} (${kind})`,
    metadata: false,
    // Reports become cases at once: their id is known in the POST's answer.
    type: 'realtime',
    keywords: c.keywords.join(','),
    group,
  };
}

export async function listServices(db: Executor, lang: Open311Lang = 'zh'): Promise<Open311Service[]> {
  return (await listCategories(db)).map((c) => toService(c, lang));
}

export async function serviceDefinition(db: Executor, code: string): Promise<Open311ServiceDefinition> {
  const category = await activeCategoryByCode(db, code);
  if (!category) throw new NotFound(`service_code "${code}" not found`);
  return { service_code: category.code, attributes: [] };
}
