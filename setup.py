"""Packaging for lmmrec_nb: every field comes from settings.ini (nbdev 2 layout, without pkg_resources)."""
from configparser import ConfigParser
import setuptools

config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']
for k in 'version description keywords author author_email lib_name user min_python license git_url'.split():
    assert k in cfg, f'settings.ini is missing {k}'

licenses = {'apache2': 'Apache-2.0'}  # SPDX expression
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable']
requirements = cfg.get('requirements', '').split()
dev_requirements = cfg.get('dev_requirements', '').split()

setuptools.setup(
    name=cfg['repo'], version=cfg['version'], description=cfg['description'],
    long_description=open('README.md', encoding='utf-8').read(), long_description_content_type='text/markdown',
    license=licenses[cfg['license']], url=cfg['git_url'], author=cfg['author'], author_email=cfg['author_email'],
    keywords=cfg['keywords'], packages=setuptools.find_packages(include=[cfg['lib_name'], cfg['lib_name'] + '.*']),
    include_package_data=True,  # + MANIFEST.in; package_data below ships the committed artifacts even without it
    package_data={cfg['lib_name']: ['artifacts/motivations/*', 'artifacts/text_vectors/*', 'artifacts/own_data_example/*']},  # LLM answers + frozen text vectors
    install_requires=requirements, extras_require={'dev': dev_requirements},
    python_requires='>=' + cfg['min_python'], zip_safe=False,
    classifiers=['Development Status :: ' + statuses[int(cfg['status']) - 1], 'Intended Audience :: ' + cfg['audience'],
                 'Natural Language :: ' + cfg['language'],
                 'Programming Language :: Python :: 3', 'Topic :: Scientific/Engineering :: Artificial Intelligence'],
    entry_points={'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"],
                  'console_scripts': cfg.get('console_scripts', '').split()},  # lmmrec-nb (40_cli)
)
