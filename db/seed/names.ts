/** Place names for the synthetic Tongren: real-sounding Chinese names with their pinyin. */

export interface DistrictSpec {
  code: string;
  name: string;
  nameEn: string;
  /** Where its Voronoi seed sits (lon, lat); the districts are cut around these. */
  anchor: [number, number];
  streets: number;
}

export const CITY = { code: '520600', name: '铜仁市', nameEn: 'Tongren City' } as const;

/** Downtown, where reports and small communities cluster. */
export const CENTRE: [number, number] = [109.19, 27.72];

export const DISTRICTS: readonly DistrictSpec[] = [
  { code: '520602', name: '碧江区', nameEn: 'Bijiang District', anchor: [109.195, 27.727], streets: 6 },
  { code: '520603', name: '万山区', nameEn: 'Wanshan District', anchor: [109.152, 27.696], streets: 5 },
  { code: '520604', name: '大兴区', nameEn: 'Daxing District', anchor: [109.238, 27.707], streets: 5 },
  { code: '520605', name: '川硐区', nameEn: 'Chuandong District', anchor: [109.168, 27.757], streets: 4 },
];

export const STREET_NAMES: readonly (readonly [string, string])[] = [
  ['环北', 'Huanbei'],
  ['市中', 'Shizhong'],
  ['河西', 'Hexi'],
  ['灯塔', 'Dengta'],
  ['正光', 'Zhengguang'],
  ['谢桥', 'Xieqiao'],
  ['仁山', 'Renshan'],
  ['茶店', 'Chadian'],
  ['锦江', 'Jinjiang'],
  ['桐木坪', 'Tongmuping'],
  ['滑石', 'Huashi'],
  ['漾头', 'Yangtou'],
  ['坝黄', 'Bahuang'],
  ['云场坪', 'Yunchangping'],
  ['瓦屋', 'Wawu'],
  ['高楼坪', 'Gaolouping'],
  ['丹砂', 'Dansha'],
  ['仙人街', 'Xianrenjie'],
  ['黄道', 'Huangdao'],
  ['鱼塘', 'Yutang'],
  ['敖寨', 'Aozhai'],
  ['下溪', 'Xiaxi'],
  ['大坪', 'Daping'],
  ['白水', 'Baishui'],
];

const FIRST: readonly (readonly [string, string])[] = [
  ['东', 'Dong'],
  ['西', 'Xi'],
  ['南', 'Nan'],
  ['北', 'Bei'],
  ['金', 'Jin'],
  ['银', 'Yin'],
  ['锦', 'Jin'],
  ['翠', 'Cui'],
  ['龙', 'Long'],
  ['凤', 'Feng'],
  ['桃', 'Tao'],
  ['梅', 'Mei'],
  ['松', 'Song'],
  ['竹', 'Zhu'],
  ['清', 'Qing'],
  ['白', 'Bai'],
  ['红', 'Hong'],
  ['新', 'Xin'],
  ['和', 'He'],
  ['文', 'Wen'],
];

const SECOND: readonly (readonly [string, string])[] = [
  ['苑', 'yuan'],
  ['湖', 'hu'],
  ['桥', 'qiao'],
  ['园', 'yuan'],
  ['坪', 'ping'],
  ['湾', 'wan'],
  ['溪', 'xi'],
  ['山', 'shan'],
  ['林', 'lin'],
  ['岭', 'ling'],
  ['街', 'jie'],
  ['港', 'gang'],
];

/** Two-syllable community names (龙湾, 金桥 …), 240 of them; the seed shuffles and draws. */
export const COMMUNITY_NAMES: readonly (readonly [string, string])[] = FIRST.flatMap(([a, ae]) =>
  SECOND.map(([b, be]) => [a + b, ae + be] as const),
);

export const SURNAMES = [
  '王',
  '李',
  '张',
  '刘',
  '陈',
  '杨',
  '黄',
  '赵',
  '吴',
  '周',
  '徐',
  '孙',
  '杨',
  '田',
  '龙',
  '石',
  '吴',
  '罗',
];
export const GIVEN = [
  '伟',
  '芳',
  '娜',
  '敏',
  '静',
  '丽',
  '强',
  '磊',
  '军',
  '洋',
  '勇',
  '艳',
  '杰',
  '娟',
  '涛',
  '明',
  '超',
  '秀英',
  '华',
  '平',
];
