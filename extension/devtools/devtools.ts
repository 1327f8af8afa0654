// Adds the crcsync panel to the developer tools of each inspected tab.

import { browser } from '../shared/browser';

void browser.devtools.panels.create('crcsync', '/icons/crcsync.svg', '/devtools/panel.html');
