// The test build's messages to the navigation path (navigations.ts; esbuild
// drops their handling from the other builds). A module of its own, without
// a browser API, so the e2e tests import the same names.
/**
 * Test build only, from an extension page:
 *   { type: TEST_CANCEL_MESSAGE }    the infobar's Cancel, which no test can click: every session
 *                                    is detached and handled as Chrome reports it ('canceled_by_user');
 *                                    answers { detached: tabIds }
 *   { type: TEST_ATTACHED_MESSAGE }  the attached tabs, once set up; answers { tabIds }
 */
export const TEST_CANCEL_MESSAGE = 'crcsync-test:cancelDebugging';
export const TEST_ATTACHED_MESSAGE = 'crcsync-test:attachedTabs';
