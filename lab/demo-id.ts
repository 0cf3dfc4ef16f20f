/** The prefix of everything vigil demo creates (namespaces, links): vigil demo --clean removes what has it. */
export const DEMO_ID = 'vgdemo';
