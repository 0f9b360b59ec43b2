// Components rendered by miniprogram-simulate (jsdom, WeChat's own template compiler).
const path = require('path');
const simulate = require('miniprogram-simulate');

const root = path.join(__dirname, '..');
// Under jest a component's js runs once per test file, so each is loaded once.
const ids = {};
const load = (name) => {
  if (!ids[name]) ids[name] = simulate.load(path.join(root, `components/${name}/${name}`), name, { rootPath: root });
  return ids[name];
};

afterEach(() => {
  delete global.wx;
});

describe('style-picker', () => {
  const styles = [
    { id: 'hayao', name: 'Hayao', preview_url: 'https://api.test/p/hayao.jpg', download_bytes: 2.5 * 1024 * 1024 },
    { id: 'paprika', name: 'Paprika', preview_url: 'https://api.test/p/paprika.jpg', download_bytes: 300 * 1024 },
  ];

  test('shows preview, name and download size per style', () => {
    const comp = simulate.render(load('style-picker'), { styles });
    comp.attach(document.createElement('parent-wrapper'));
    const items = comp.querySelectorAll('.style');
    expect(items).toHaveLength(2);
    expect(comp.querySelector('.name').dom.textContent).toBe('Hayao');
    expect(comp.querySelector('.size').dom.textContent).toBe('2.5 MB');
    expect(comp.querySelectorAll('.size')[1].dom.textContent).toBe('300 KB');
    expect(comp.data.items[0].preview).toBe('https://api.test/p/hayao.jpg');
  });

  test('the selected style is outlined; a downloaded one says so instead of a size', () => {
    const comp = simulate.render(load('style-picker'), { styles: [styles[0], { ...styles[1], downloaded: true }], selected: 'paprika' });
    comp.attach(document.createElement('parent-wrapper'));
    const items = comp.querySelectorAll('.style');
    expect(items[1].dom.className).toContain('selected');
    expect(items[0].dom.className).not.toContain('selected');
    expect(comp.querySelectorAll('.size')[1].dom.textContent).toBe('已下载');
  });

  test('tapping a style emits select with its id; nothing while disabled', async () => {
    const comp = simulate.render(load('style-picker'), { styles });
    comp.attach(document.createElement('parent-wrapper'));
    const selected = [];
    comp.addEventListener('select', (e) => selected.push(e.detail.id));
    comp.querySelectorAll('.style')[1].dispatchEvent('tap');
    await simulate.sleep(0);
    expect(selected).toEqual(['paprika']);
    comp.setData({ disabled: true });
    comp.querySelectorAll('.style')[0].dispatchEvent('tap');
    await simulate.sleep(0);
    expect(selected).toEqual(['paprika']);
  });
});

describe('progress-panel', () => {
  test('download percentage with a bar, other steps in words', () => {
    const comp = simulate.render(load('progress-panel'), { step: 'downloading', percent: 42 });
    comp.attach(document.createElement('parent-wrapper'));
    expect(comp.querySelector('.text').dom.textContent).toBe('正在下载风格模型 42%');
    expect(comp.querySelector('.bar')).toBeTruthy();
    comp.setData({ step: 'waiting', percent: -1, status: 'queued' });
    expect(comp.querySelector('.text').dom.textContent).toBe('云端正在生成卡通画…（排队中）');
    expect(comp.querySelector('.bar')).toBeFalsy();
  });

  test('hidden when there is no step', () => {
    const comp = simulate.render(load('progress-panel'), { step: '' });
    comp.attach(document.createElement('parent-wrapper'));
    expect(comp.querySelector('.panel')).toBeFalsy();
  });
});

describe('before-after', () => {
  test('the slider moves the divider between the stylized picture and the original', async () => {
    const comp = simulate.render(load('before-after'), { before: 'before.jpg', after: 'after.png', ratio: 4 / 3 });
    comp.attach(document.createElement('parent-wrapper'));
    expect(comp.querySelector('.clip').dom.getAttribute('style')).toContain('width: 50%');
    comp.querySelector('.slider').dispatchEvent('change', { detail: { value: 80 } });
    await simulate.sleep(0);
    expect(comp.data.position).toBe(80);
    expect(comp.querySelector('.divider').dom.getAttribute('style')).toContain('left: 80%');
  });
});

describe('privacy-popup', () => {
  function wxWithPrivacy() {
    const wx = {
      onNeedPrivacyAuthorization: jest.fn((listener) => { wx.listener = listener; }),
      getPrivacySetting: ({ success }) => success({ needAuthorization: true, privacyContractName: '《卡通相机隐私保护指引》' }),
      openPrivacyContract: jest.fn(),
    };
    return wx;
  }

  test('appears when WeChat holds a privacy API, and agreeing resolves it with the agree button id', async () => {
    global.wx = wxWithPrivacy();
    const comp = simulate.render(load('privacy-popup'));
    comp.attach(document.createElement('parent-wrapper'));
    expect(comp.querySelector('.dialog')).toBeFalsy();

    const resolve = jest.fn();
    global.wx.listener(resolve, { referrer: 'chooseMedia' });
    expect(comp.querySelector('.dialog')).toBeTruthy();
    expect(comp.querySelector('.link').dom.textContent).toBe('《卡通相机隐私保护指引》');
    expect(resolve).toHaveBeenCalledWith({ event: 'exposureAuthorization' });

    comp.querySelector('.link').dispatchEvent('tap');
    await simulate.sleep(0);
    expect(global.wx.openPrivacyContract).toHaveBeenCalled();

    comp.instance.onAgree();
    expect(resolve).toHaveBeenLastCalledWith({ buttonId: 'agree-btn', event: 'agree' });
    expect(comp.querySelector('.dialog')).toBeFalsy();
  });

  test('refusing resolves with disagree, so the held call fails and the page can explain', async () => {
    global.wx = wxWithPrivacy();
    const comp = simulate.render(load('privacy-popup'));
    comp.attach(document.createElement('parent-wrapper'));
    const resolve = jest.fn();
    global.wx.listener(resolve);
    comp.querySelector('.disagree').dispatchEvent('tap');
    await simulate.sleep(0);
    expect(resolve).toHaveBeenLastCalledWith({ event: 'disagree' });
    expect(comp.querySelector('.dialog')).toBeFalsy();
  });

  test('the agree button is WeChat\'s agreePrivacyAuthorization button with id agree-btn', () => {
    global.wx = wxWithPrivacy();
    const comp = simulate.render(load('privacy-popup'));
    comp.attach(document.createElement('parent-wrapper'));
    global.wx.listener(jest.fn());
    const button = comp.querySelector('#agree-btn');
    expect(button).toBeTruthy();
  });
});
